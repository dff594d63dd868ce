using System.CommandLine;
using OrleansShards.Cli.Output;

namespace OrleansShards.Cli.Commands;

/// <summary><c>shards restore &lt;bookmark&gt;</c>: restore the table to a bookmark, with its progress while it runs.</summary>
internal static class RestoreCommand
{
    public static Command Create(CommandRunner runner)
    {
        var bookmark = new Argument<string>("bookmark") { Description = "A bookmark of this table (from `shards bookmark`)" };
        var command = new Command("restore", "Restore the table to exactly the state of a bookmark; prints an undo bookmark") { bookmark };
        command.SetAction(runner.ForOperation(static (client, tenant, table) => client.GetTable(tenant, table), async (parse, shard, watch, cancellationToken) =>
        {
            var target = parse.GetRequiredValue(bookmark);
            var json = runner.Json(parse);
            RestoreResult? result = null;
            if (json)
            {
                result = await shard.RestoreAsync(new RestoreRequest(target), cancellationToken).ConfigureAwait(false);
                Renderer.Json(runner.Context, result, CliJsonContext.Default.RestoreResult);
                return;
            }

            result = await watch.RunAsync(
                $"Restoring to {target}…", "steps", id => shard.RestoreAsync(new RestoreRequest(target, id), cancellationToken), cancellationToken).ConfigureAwait(false);
            Renderer.Line(runner.Context, $"restored to {result!.RestoredTo}");
            Renderer.Line(runner.Context, $"undo with: shards restore {result.UndoBookmark}");
        }));
        return command;
    }
}

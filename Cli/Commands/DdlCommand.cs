using System.CommandLine;
using OrleansShards.Cli.Output;

namespace OrleansShards.Cli.Commands;

/// <summary><c>shards ddl "CREATE TABLE …; CREATE INDEX …"</c>: schema statements, applied atomically.</summary>
internal static class DdlCommand
{
    public static Command Create(CommandRunner runner)
    {
        var sql = new Argument<string>("sql") { Description = "One or more schema statements separated by ;" };
        var command = new Command("ddl", "Apply schema statements (CREATE/ALTER/DROP) atomically") { sql };
        command.SetAction(runner.ForShard(async (parse, shard, cancellationToken) =>
        {
            var result = await shard.DdlAsync(new DdlRequest(parse.GetRequiredValue(sql)), cancellationToken).ConfigureAwait(false);
            if (runner.Json(parse))
            {
                Renderer.Json(runner.Context, result, CliJsonContext.Default.DdlResult);
                return;
            }

            Renderer.Line(runner.Context, $"ok, bookmark {result.Bookmark}");
        }));
        return command;
    }
}

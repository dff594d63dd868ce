using System.CommandLine;
using OrleansShards.Cli.Output;

namespace OrleansShards.Cli.Commands;

/// <summary><c>shards unshard</c>: merge every shard back into the table, online, with its progress while it runs.</summary>
internal static class UnshardCommand
{
    public static Command Create(CommandRunner runner)
    {
        var command = new Command("unshard", "Merge every shard back into one table, online; nothing is lost");
        command.SetAction(runner.ForOperation(static (client, tenant, table) => client.GetRegistry(tenant, table), async (parse, registry, watch, cancellationToken) =>
        {
            if (runner.Json(parse))
            {
                var answer = await registry.UnshardAsync(cancellationToken).ConfigureAwait(false);
                Renderer.Json(runner.Context, answer, CliJsonContext.Default.UnshardResult);
                return;
            }

            var result = await watch.RunAsync(
                "Merging the shards…", "rows", id => registry.UnshardAsync(new UnshardRequest(id), cancellationToken), cancellationToken).ConfigureAwait(false);
            Renderer.Line(runner.Context, $"merged {Renderer.Count(result.ShardsMerged, "shard")} back: {Renderer.Count(result.RowCount, "row")} in the table " +
                $"({ShardingRenderer.N(result.RowsMoved)} moved) in {ShardingRenderer.Ms(result.DurationMs)} (writes held {ShardingRenderer.Ms(result.StallMs)})");
            Renderer.Line(runner.Context, "correlation id: " + result.CorrelationId);
        }));
        return command;
    }
}

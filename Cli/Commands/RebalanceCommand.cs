using System.CommandLine;
using OrleansShards.Cli.Output;

namespace OrleansShards.Cli.Commands;

/// <summary>
/// <c>shards rebalance [--target-count N] [--max-skew X] [--strategy incremental|full]</c>: move rows to a new count or to
/// even out skew, online, with its progress while it runs; prints rows moved, the distribution before and after, and the shards.
/// </summary>
internal static class RebalanceCommand
{
    public static Command Create(CommandRunner runner)
    {
        var targetCount = new Option<int?>("--target-count") { Description = "The new shard count, 1-1000 (default: unchanged)" };
        var maxSkew = new Option<double?>("--max-skew") { Description = "Skip when the count is unchanged and the skew (max/avg rows) is at most this" };
        var strategy = new Option<string>("--strategy")
        {
            Description = "incremental (default: move only rows whose shard changes) or full (recompute range split points / roundRobin assignments)",
            DefaultValueFactory = _ => "incremental",
        };
        strategy.AcceptOnlyFromAmong("incremental", "full");
        var command = new Command("rebalance", "Move rows to a new shard count or to even out skew, online") { targetCount, maxSkew, strategy };
        command.SetAction(runner.ForOperation(static (client, tenant, table) => client.GetRegistry(tenant, table), async (parse, registry, watch, cancellationToken) =>
        {
            var request = new RebalanceRequest(parse.GetValue(targetCount), parse.GetValue(maxSkew), parse.GetValue(strategy));
            if (runner.Json(parse))
            {
                var answer = await registry.RebalanceAsync(request, cancellationToken).ConfigureAwait(false);
                Renderer.Json(runner.Context, answer, CliJsonContext.Default.RebalanceResult);
                return;
            }

            var result = await watch.RunAsync(
                request.TargetCount is { } n ? $"Rebalancing into {n} shards ({request.Strategy})…" : $"Rebalancing ({request.Strategy})…",
                "rows",
                id => registry.RebalanceAsync(request with { OperationId = id }, cancellationToken),
                cancellationToken).ConfigureAwait(false);
            if (result.Skipped)
            {
                Renderer.Line(runner.Context, $"nothing to move: {Renderer.Count(result.Shards.Count, "shard")}, {ShardingRenderer.Distribution(result.Before)}");
                return;
            }

            ShardingRenderer.Shards(runner.Context, result.Shards, result.ModifiedShards);
            Renderer.Line(runner.Context, $"moved {Renderer.Count(result.RowsMoved, "row")} into {Renderer.Count(result.Shards.Count, "shard")} in {ShardingRenderer.Ms(result.DurationMs)} " +
                $"(writes held {ShardingRenderer.Ms(result.StallMs)}); modified: {(result.ModifiedShards.Count == 0 ? "none" : string.Join(", ", result.ModifiedShards))}");
            Renderer.Line(runner.Context, "before: " + ShardingRenderer.Distribution(result.Before));
            Renderer.Line(runner.Context, "after:  " + ShardingRenderer.Distribution(result.After));
            Renderer.Line(runner.Context, "correlation id: " + result.CorrelationId);
        }));
        return command;
    }
}

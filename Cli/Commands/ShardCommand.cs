using System.CommandLine;
using OrleansShards.Cli.Output;

namespace OrleansShards.Cli.Commands;

/// <summary>
/// <c>shards shard --key &lt;col|json.path&gt; --count N [--strategy hash|range|roundRobin|custom] [--key-path …] [--router …]</c>:
/// split the table into shards online, with its progress while it runs; prints the shards and the distribution.
/// </summary>
internal static class ShardCommand
{
    public static Command Create(CommandRunner runner)
    {
        var key = new Option<string>("--key")
        {
            Description = "The shard key: a column, or a dotted path into a JSON column (metadata.organization.id)",
            Required = true,
        };
        var count = new Option<int>("--count") { Description = "Number of shards, 1-1000", Required = true };
        var strategy = new Option<string>("--strategy")
        {
            Description = "hash (consistent, default), range (quantile split points), roundRobin (recorded assignments) or custom (--router)",
            DefaultValueFactory = _ => ShardStrategies.Hash,
        };
        strategy.AcceptOnlyFromAmong([.. ShardStrategies.All]);
        var keyPath = new Option<string?>("--key-path") { Description = "A dotted JSON path inside the --key column (instead of a dotted --key)" };
        var router = new Option<string?>("--router") { Description = "For --strategy custom: the name the router was registered under (AddShardRouter)" };
        var command = new Command("shard", "Split the table into shards by a key, online (writes keep working)") { key, count, strategy, keyPath, router };
        command.SetAction(runner.ForOperation(static (client, tenant, table) => client.GetRegistry(tenant, table), async (parse, registry, watch, cancellationToken) =>
        {
            var request = new ShardRequest(parse.GetRequiredValue(key), parse.GetValue(count), parse.GetValue(strategy), parse.GetValue(keyPath), parse.GetValue(router));
            if (runner.Json(parse))
            {
                var answer = await registry.ShardAsync(request, cancellationToken).ConfigureAwait(false);
                Renderer.Json(runner.Context, answer, CliJsonContext.Default.ShardResult);
                return;
            }

            var result = await watch.RunAsync(
                $"Sharding into {request.Count} by {request.Key}{(request.KeyPath is { } path ? " → " + path : string.Empty)} ({request.Strategy})…",
                "rows",
                id => registry.ShardAsync(request with { OperationId = id }, cancellationToken),
                cancellationToken).ConfigureAwait(false);
            ShardingRenderer.Shards(runner.Context, result.Shards);
            Renderer.Line(runner.Context, $"sharded into {Renderer.Count(result.Shards.Count, "shard")} by {ShardingRenderer.Key(result.Registry)} ({result.Registry.Strategy}): " +
                $"{Renderer.Count(result.RowsMoved, "row")} moved in {ShardingRenderer.Ms(result.DurationMs)} (writes held {ShardingRenderer.Ms(result.StallMs)})");
            Renderer.Line(runner.Context, "distribution: " + ShardingRenderer.Distribution(result.Stats));
            Renderer.Line(runner.Context, "correlation id: " + result.CorrelationId);
        }));
        return command;
    }
}

using System.CommandLine;
using OrleansShards.Cli.Output;
using Spectre.Console;

namespace OrleansShards.Cli.Commands;

/// <summary>
/// <c>shards query-shards "SELECT …" [--aggregation merge|concat|sum|count|avg] [-p value]… [--timeout-ms N] [--continue-on-error]</c>:
/// one read on every shard in parallel, combined; prints the combined rows (or value) and each shard's part.
/// </summary>
internal static class QueryShardsCommand
{
    public static Command Create(CommandRunner runner)
    {
        var sql = new Argument<string>("sql") { Description = "One read-only SQL statement with ? parameters; for avg it selects the one column to average" };
        var parameters = SqlParameters.CreateOption();
        var aggregation = new Option<string>("--aggregation")
        {
            Description = "concat (all rows, default), merge (distinct rows), sum (column sums), count (rows), avg (exact mean of the one column)",
            DefaultValueFactory = _ => ShardAggregations.Concat,
        };
        aggregation.AcceptOnlyFromAmong([.. ShardAggregations.All]);
        var timeout = new Option<int?>("--timeout-ms") { Description = "Per-shard time limit (default 30000)" };
        var continueOnError = new Option<bool>("--continue-on-error") { Description = "Report a failing shard in its row and combine the others" };
        var command = new Command("query-shards", "Run one read on every shard of a sharded table and combine the answers")
        {
            sql, parameters, aggregation, timeout, continueOnError,
        };
        command.SetAction(runner.ForRegistry(async (parse, registry, cancellationToken) =>
        {
            var request = new ShardQueryRequest(
                parse.GetRequiredValue(sql),
                SqlParameters.Parse(parse.GetValue(parameters)),
                parse.GetValue(aggregation),
                parse.GetValue(timeout),
                parse.GetValue(continueOnError));
            var result = await registry.QueryShardsAsync(request, cancellationToken).ConfigureAwait(false);
            if (runner.Json(parse))
            {
                Renderer.Json(runner.Context, result, CliJsonContext.Default.ShardQueryResult);
                return;
            }

            if (result.Value is { } value)
            {
                Renderer.Line(runner.Context, $"{result.Aggregation}: {(value.IsNull ? "NULL" : value.ToString())}");
            }
            else
            {
                Renderer.Rows(runner.Context, result.Columns, result.Rows);
            }

            var table = new Table().Border(TableBorder.Rounded)
                .AddColumn("shard").AddColumn("index").AddColumn(new TableColumn("items").RightAligned())
                .AddColumn(new TableColumn("time").RightAligned()).AddColumn("error");
            foreach (var shard in result.Shards)
            {
                table.AddRow(
                    new Text(shard.Shard),
                    new Text(ShardingRenderer.N(shard.Index)),
                    new Text(ShardingRenderer.N(shard.ItemCount)),
                    new Text(ShardingRenderer.Ms(shard.DurationMs)),
                    new Text(shard.Error is null ? string.Empty : $"{shard.ErrorCode}: {shard.Error}"));
            }

            runner.Context.Console.Write(table);
            var failed = result.Shards.Count(s => s.Error is not null);
            Renderer.Line(runner.Context, $"{Renderer.Count(result.TotalItems, "item")} from {Renderer.Count(result.Shards.Count, "shard")} in {ShardingRenderer.Ms(result.DurationMs)}" +
                (failed > 0 ? $", {failed} failed" : string.Empty));
        }));
        return command;
    }
}

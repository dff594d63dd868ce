using System.CommandLine;
using OrleansShards.Cli.Output;

namespace OrleansShards.Cli.Commands;

/// <summary><c>shards query "SELECT …" [-p value]… [--consistency …]</c>: one read, rows shown as a table.</summary>
internal static class QueryCommand
{
    public static Command Create(CommandRunner runner)
    {
        var sql = new Argument<string>("sql") { Description = "One read-only SQL statement with ? parameters" };
        var parameters = SqlParameters.CreateOption();
        var consistency = new Option<string?>("--consistency") { Description = "strong (default), bounded or cached" };
        consistency.AcceptOnlyFromAmong("strong", "bounded", "cached");
        var maxStaleness = new Option<long?>("--max-staleness-ms") { Description = "For bounded reads: oldest acceptable cache entry" };
        var minBookmark = new Option<string?>("--min-bookmark") { Description = "Read-your-writes: no answer older than this bookmark" };
        var command = new Command("query", "Run one read (SELECT) and show its rows") { sql, parameters, consistency, maxStaleness, minBookmark };
        command.SetAction(runner.ForShard(async (parse, shard, cancellationToken) =>
        {
            var request = new QueryRequest(
                parse.GetRequiredValue(sql),
                SqlParameters.Parse(parse.GetValue(parameters)),
                parse.GetValue(consistency) switch
                {
                    "strong" => Consistency.Strong,
                    "bounded" => Consistency.Bounded,
                    "cached" => Consistency.Cached,
                    _ => null,
                },
                parse.GetValue(maxStaleness),
                parse.GetValue(minBookmark));
            var result = await shard.QueryAsync(request, cancellationToken).ConfigureAwait(false);
            if (runner.Json(parse))
            {
                Renderer.Json(runner.Context, result, CliJsonContext.Default.QueryResult);
                return;
            }

            Renderer.Rows(runner.Context, result.Columns, result.Rows);
            Renderer.Line(runner.Context, $"{Renderer.Count(result.Rows.Count, "row")} (rows read {result.RowsRead}, served by {result.Meta.ServedBy}, bookmark {result.Meta.Bookmark})");
        }));
        return command;
    }
}

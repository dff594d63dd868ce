using System.CommandLine;
using System.Globalization;
using OrleansShards.Cli.Output;

namespace OrleansShards.Cli.Commands;

/// <summary><c>shards stats</c>: size, limit, counters, plan-cache and cache figures of the table.</summary>
internal static class StatsCommand
{
    public static Command Create(CommandRunner runner)
    {
        var command = new Command("stats", "Show the table's size, limit and counters");
        command.SetAction(runner.ForShard(async (parse, shard, cancellationToken) =>
        {
            var s = await shard.GetStatsAsync(cancellationToken).ConfigureAwait(false);
            if (runner.Json(parse))
            {
                Renderer.Json(runner.Context, s, CliJsonContext.Default.ShardStats);
                return;
            }

            var figures = new List<(string, string)>
            {
                ("shard", s.Shard),
                ("size", $"{Bytes(s.SizeBytes)} of {Bytes(s.MaxSizeBytes)}"),
                ("statements", N(s.Statements)),
                ("rows read", N(s.RowsRead)),
                ("rows written", N(s.RowsWritten)),
                ("commits", N(s.Commits)),
                ("plan cache", $"{N(s.PlanCacheHits)} hits, {N(s.PlanCacheMisses)} misses ({s.PlanCacheHitRate.ToString("P1", CultureInfo.InvariantCulture)})"),
                ("bookmark", s.Bookmark ?? "-"),
            };
            if (s.Cache is { } c)
            {
                figures.Add(("cache", $"{N(c.Hits)} hits, {N(c.Stale)} stale, {N(c.Misses)} misses ({c.HitRate.ToString("P1", CultureInfo.InvariantCulture)}), {N(c.Invalidations)} invalidations"));
            }

            Renderer.Figures(runner.Context, figures);
        }));
        return command;
    }

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.##", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.##", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("0.##", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };
}

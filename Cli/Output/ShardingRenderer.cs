using System.Globalization;
using Spectre.Console;

namespace OrleansShards.Cli.Output;

/// <summary>Text and tables of the sharding commands.</summary>
internal static class ShardingRenderer
{
    /// <summary>A table of shards: name, index, rows; rows named in <paramref name="modified"/> are marked.</summary>
    public static void Shards(CliContext context, IReadOnlyList<ShardInfo> shards, IReadOnlyCollection<string>? modified = null)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("shard").AddColumn("index").AddColumn(new TableColumn("rows").RightAligned());
        if (modified is not null)
        {
            table.AddColumn("modified");
        }

        foreach (var shard in shards)
        {
            var cells = new List<Text> { new(shard.Name), new(N(shard.Index)), new(N(shard.RowCount)) };
            if (modified is not null)
            {
                cells.Add(new Text(modified.Contains(shard.Name) ? "yes" : string.Empty));
            }

            table.AddRow(cells);
        }

        context.Console.Write(table);
    }

    /// <summary><c>total 300, min 90, max 110, avg 100.0, stdDev 8.16, skew 1.10</c>.</summary>
    public static string Distribution(ShardDistributionStats s) => string.Create(
        CultureInfo.InvariantCulture,
        $"total {s.Total:N0}, min {s.Min:N0}, max {s.Max:N0}, avg {s.Avg:0.0}, stdDev {s.StdDev:0.##}, skew {s.SkewRatio:0.00}");

    /// <summary>The shard key as given: <c>column</c> or <c>column → json.path</c>.</summary>
    public static string Key(ShardRegistryInfo registry) =>
        registry.KeyPath is { Length: > 0 } path ? registry.Key + " → " + path : registry.Key;

    public static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    public static string Ms(double ms) => ms.ToString("0.##", CultureInfo.InvariantCulture) + " ms";
}

using System.Globalization;

using Orleans.Concurrency;

namespace OrleansShards.Grains.Sharding;

/// <summary>
/// The registry of a sharded table as persisted (JSON in the base table file's <c>_meta</c>, key <c>shard:layout</c>).
/// Shard <c>i</c> is the table <c>{table}__s{i}</c> of the same tenant, its own grain and file.
/// </summary>
[GenerateSerializer, Immutable, Alias("orleansshards.sharding.ShardLayout")]
internal sealed record ShardLayout(
    [Id(0)] string Id,
    [Id(1)] string Key,
    [Id(2)] string? KeyPath,
    [Id(3)] string Strategy,
    [Id(4)] int Count,
    [Id(5)] long CreatedAtMs,
    [Id(6)] List<SqlValue>? SplitPoints = null,
    [Id(7)] string? Router = null)
{
    public const string ShardSeparator = OrleansShards.ShardName.PartitionSeparator;

    public static string ShardName(string table, int index) => table + ShardSeparator + index.ToString(CultureInfo.InvariantCulture);

    public string ShardNameOf(string table, int index) => ShardName(table, index);

    public IEnumerable<string> ShardNames(string table) => Enumerable.Range(0, Count).Select(i => ShardName(table, i));

    public ShardRegistryInfo ToInfo(string table) => new(
        Id,
        Key,
        KeyPath,
        Count,
        Strategy,
        CreatedAtMs,
        [.. Enumerable.Range(0, Count).Select(i => new ShardEndpoint(ShardName(table, i), i, "active"))],
        SplitPoints,
        Router);
}

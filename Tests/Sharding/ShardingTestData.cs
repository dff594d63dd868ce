using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Grains.Sharding;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Sharding;

/// <summary>Tables and checks shared by the sharding tests.</summary>
internal static class ShardingTestData
{
    public const string Tenant = "acme";

    public static readonly string[] Orgs = [.. Enumerable.Range(0, 40).Select(i => "org" + i)];

    public static IShardRegistry Registry(this ShardTestHost host, string table) => host.Grains.GetGrain<IShardRegistry>(ShardName.Format(Tenant, table));

    internal static IShardHost ShardHost(this ShardTestHost host, string table) => host.Grains.GetGrain<IShardHost>(ShardName.Format(Tenant, table));

    internal static ShardingFaults Faults(this ShardTestHost host) => host.Services.GetRequiredService<ShardingFaults>();

    /// <summary><c>items(id INTEGER PRIMARY KEY, org TEXT, price REAL, meta TEXT)</c> with <paramref name="rows"/> rows; row i has org i % 40, price i, meta.organization.id = org.</summary>
    public static async Task<ITableShard> CreateItemsAsync(ShardTestHost host, int rows, string table = "items")
    {
        var shard = host.Shard(Tenant, table);
        await shard.DdlAsync(new DdlRequest($"CREATE TABLE {table}(id INTEGER PRIMARY KEY, org TEXT NOT NULL, price REAL, meta TEXT); CREATE INDEX {table}_org ON {table}(org)"));
        await InsertItemsAsync(shard, table, 0, rows);
        return shard;
    }

    public static async Task InsertItemsAsync(ITableShard shard, string table, int from, int count, SqlValue? shardKey = null)
    {
        const int Batch = 500;
        for (var start = from; start < from + count; start += Batch)
        {
            var statements = Enumerable.Range(start, Math.Min(Batch, from + count - start))
                .Select(i => new Statement($"INSERT INTO {table}(id, org, price, meta) VALUES (?, ?, ?, ?)", [i, Orgs[i % Orgs.Length], (double)i, $"{{\"organization\":{{\"id\":\"{Orgs[i % Orgs.Length]}\"}}}}"]))
                .ToList();
            await shard.BatchAsync(new BatchRequest(statements) { ShardKey = shardKey });
        }
    }

    /// <summary>Every row of <paramref name="table"/> as sorted text lines (works sharded or not: reads fan out).</summary>
    public static async Task<List<string>> DumpAsync(ITableShard shard, string table)
    {
        var result = await shard.QueryAsync(new QueryRequest($"SELECT * FROM {table}"));
        return [.. result.Rows.Select(r => string.Join("|", r.Select(v => v.ToString()))).Order(StringComparer.Ordinal)];
    }

    public static string ShardFile(ShardTestHost host, string table) => Path.Combine(host.DataDirectory, Tenant, table + ".db");
}

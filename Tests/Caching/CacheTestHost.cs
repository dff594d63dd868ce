using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Grains.Caching;
using OrleansShards.Grains.Hosting;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Caching;

/// <summary>Helpers over <see cref="ShardTestHost"/> for cache tests: a seeded table and barriers on invalidation.</summary>
internal static class CacheTestHost
{
    public static Task<ShardTestHost> StartAsync(
        Action<ShardCacheOptions>? cache = null,
        TimeProvider? time = null,
        string? dataDirectory = null,
        Action<IServiceCollection>? services = null) =>
        ShardTestHost.StartAsync(time: time, dataDirectory: dataDirectory, services: s =>
        {
            services?.Invoke(s);
            s.AddShardCache(cache);
        });

    public static async Task<ITableShard> SeedAsync(ShardTestHost host, string tenant = "t1", string table = "items", int rows = 3)
    {
        var shard = host.Shard(tenant, table);
        var ddl = await shard.DdlAsync(new DdlRequest($"CREATE TABLE {table}(id INTEGER PRIMARY KEY, name TEXT, color TEXT, qty INTEGER); CREATE INDEX {table}_color ON {table}(color)"));
        for (var i = 1; i <= rows; i++)
        {
            await shard.MutateAsync(new MutationRequest($"INSERT INTO {table}(id, name, color, qty) VALUES (?, ?, ?, ?)", [i, "n" + i, i % 2 == 0 ? "red" : "blue", i * 10]));
        }

        // The schema's flush is applied before a test starts reading. The inserts carry no invalidation:
        // nothing of the table was cached yet (CacheInterest).
        await host.WhenAppliedAsync(ShardName.Format(tenant, table), SequenceOf(ddl.Bookmark));
        return shard;
    }

    public static ShardCacheServices Cache(this ShardTestHost host) => host.Services.GetRequiredService<ShardCacheServices>();

    public static ICacheStore Store(this ShardTestHost host) => host.Services.GetRequiredService<ICacheStore>();

    /// <summary>Completes when the invalidator of <paramref name="shard"/> has applied <paramref name="sequence"/>.</summary>
    public static Task WhenAppliedAsync(this ShardTestHost host, string shard, long sequence)
    {
        var watermarks = host.Services.GetRequiredService<InvalidationWatermarks>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnAdvanced(string s, long seq)
        {
            if (s == shard && seq >= sequence)
            {
                done.TrySetResult();
            }
        }

        watermarks.Advanced += OnAdvanced;
        if (watermarks.Get(shard) >= sequence)
        {
            done.TrySetResult();
        }

        return done.Task.WaitAsync(TimeSpan.FromSeconds(20)).ContinueWith(t =>
        {
            watermarks.Advanced -= OnAdvanced;
            t.GetAwaiter().GetResult();
        }, TaskScheduler.Default);
    }

    public static long SequenceOf(string? bookmark) => Bookmark.Parse(bookmark).Sequence;
}

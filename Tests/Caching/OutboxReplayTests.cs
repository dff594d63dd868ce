using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Grains.Caching;
using System.Reflection;
using Orleans.Runtime;
using Orleans.Streams;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Caching;

/// <summary>The silo dies between COMMIT and publish: the event is in the outbox and is published when the shard activates again.</summary>
public sealed class OutboxReplayTests
{
    [Fact]
    public async Task Activation_publishes_outboxed_invalidation_when_previous_publish_never_happened()
    {
        using var dir = new TempDirectory("outbox");
        long sequence;
        await using (var first = await CacheTestHost.StartAsync(
            o => o.StreamProvider = "down",
            dataDirectory: dir.Path,
            services: s => s.AddKeyedSingleton<IStreamProvider>("down", new UnreachableStreamProvider())))
        {
            var shard = first.Shard("t1", "items");
            await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT)"));

            await shard.MutateAsync(new MutationRequest("INSERT INTO items(id, name) VALUES (1, 'a')"));

            // A cached read first: with an entry that may be served, the update carries an invalidation event.
            await shard.LookupRowsAsync(new RowLookupRequest(PrimaryKey: 1, Consistency: Consistency.Cached));
            var write = await shard.MutateAsync(new MutationRequest("UPDATE items SET name = 'b' WHERE id = 1"));
            sequence = CacheTestHost.SequenceOf(write.Bookmark);
        }

        Assert.Equal(sequence, MaxOutboxSequence(dir));

        await using var second = await CacheTestHost.StartAsync(dataDirectory: dir.Path);
        var applied = second.WhenAppliedAsync("t1:items", sequence);
        await second.Shard("t1", "items").GetStatsAsync();
        await applied;
        var stats = await second.Grains.GetGrain<ICacheInvalidator>("t1:items").GetStatsAsync();
        Assert.Equal(sequence, stats.Watermark);
        Assert.True(stats.KeysDeleted >= 1);

        // The next commit deletes the outbox rows whose events are applied; it carries an event of its own
        // because the shard is read through the cache again.
        await second.Shard("t1", "items").LookupRowsAsync(new RowLookupRequest(PrimaryKey: 1, Consistency: Consistency.Cached));
        var next = await second.Shard("t1", "items").MutateAsync(new MutationRequest("INSERT INTO items(id, name) VALUES (2, 'b')"));
        var nextSequence = CacheTestHost.SequenceOf(next.Bookmark);
        Assert.Equal(0, OutboxRowsThrough(dir, sequence));
        Assert.Equal(nextSequence, MaxOutboxSequence(dir));

        // Deactivation keeps it deleted. The next commit's event may or may not be applied by then
        // (when it is, its row is deleted too and the outbox is empty); its row goes only if it is.
        var watermarks = second.Services.GetRequiredService<InvalidationWatermarks>();
        await second.DisposeAsync();
        Assert.True(OutboxRowsThrough(dir, sequence) == 0, "the applied event's outbox row was not deleted");
        Assert.True(
            MaxOutboxSequence(dir) == nextSequence || watermarks.Get("t1:items") >= nextSequence,
            "an outbox row was deleted before its event was applied");
    }

    private static long OutboxRowsThrough(TempDirectory dir, long sequence)
    {
        using var connection = new SqliteConnection($"Data Source={dir.Combine("t1", "items.db")};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM _outbox WHERE seq <= $seq";
        command.Parameters.AddWithValue("$seq", sequence);
        return (long)command.ExecuteScalar()!;
    }

    private static long MaxOutboxSequence(TempDirectory dir, string aggregate = "max")
    {
        using var connection = new SqliteConnection($"Data Source={dir.Combine("t1", "items.db")};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT coalesce({aggregate}(seq), 0) FROM _outbox";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>A stream provider whose every publish fails, as an unreachable one's would.</summary>
    private sealed class UnreachableStreamProvider : IStreamProvider
    {
        public string Name => "down";

        public bool IsRewindable => false;

        public IAsyncStream<T> GetStream<T>(StreamId streamId) => DispatchProxy.Create<IAsyncStream<T>, Unreachable>();
    }

    /// <summary>Every member of the stream throws, as a call to an unreachable provider would.</summary>
    public class Unreachable : DispatchProxy
    {
        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            throw new IOException("stream provider unreachable");
    }
}

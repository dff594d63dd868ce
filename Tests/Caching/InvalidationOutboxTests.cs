using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Caching;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Writes;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Caching;

/// <summary>
/// The shard's invalidation outbox as a plain class, without a silo: events leave in commit order, a failed delivery is
/// retried before anything later, and events an earlier activation left in the outbox are delivered on opening.
/// </summary>
public sealed class InvalidationOutboxTests : IDisposable
{
    private const string Shard = "t1:items";
    private readonly TempDirectory _data = new("outbox");
    private readonly ShardConnection _connection;
    private readonly ShardCacheServices _cache;

    public InvalidationOutboxTests()
    {
        _connection = new ShardConnection(Path.Combine(_data.Path, "items.db"), readOnly: false, planCacheSize: 16);
        ShardSchema.Migrate(_connection);
        var options = Options.Create(new ShardCacheOptions { PublishRetryDelay = TimeSpan.FromMilliseconds(10) });
        _cache = new ShardCacheServices(
            new MemoryCacheStore(TimeProvider.System), options, new CacheMetrics(), new InvalidationWatermarks(), new ServiceCollection().BuildServiceProvider());
    }

    public void Dispose()
    {
        _connection.Dispose();
        _data.Dispose();
    }

    private InvalidationOutbox Outbox(Func<InvalidationEvent, Task> deliver) =>
        new(Shard, _cache, new CacheInterest(_cache.Options.EntryLifetime), TimeProvider.System, deliver, NullLogger.Instance);

    /// <summary>One commit through the outbox as the writer drives it: a schema change (always an event, a flush).</summary>
    private static void Commit(InvalidationOutbox outbox, ShardConnection connection, long sequence)
    {
        var at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var payload = outbox.BuildPayload(new CommitContext(connection, sequence, at, null, "CREATE TABLE x" + sequence + "(id)"));
        Assert.NotNull(payload);
        var group = new CommittedGroup(sequence, at, null, "CREATE TABLE x" + sequence + "(id)");
        outbox.Committed(group);
        Assert.True(group.HasAcknowledgedWork);
        Assert.Equal(sequence, outbox.Acknowledged(group)?.Sequence);
    }

    [Fact]
    public async Task Events_leave_in_commit_order_and_a_failed_delivery_is_retried_before_any_later_one()
    {
        var delivered = new ConcurrentQueue<long>();
        var failuresLeft = 2;
        var outbox = Outbox(e =>
        {
            if (e.Sequence == 1 && Interlocked.Decrement(ref failuresLeft) >= 0)
            {
                return Task.FromException(new InvalidOperationException("stream down"));
            }

            delivered.Enqueue(e.Sequence);
            return Task.CompletedTask;
        });
        outbox.Start();

        for (var sequence = 1; sequence <= 3; sequence++)
        {
            Commit(outbox, _connection, sequence);
        }

        await Eventually.TrueAsync(() => delivered.Count == 3, "three events delivered", TimeSpan.FromSeconds(10));
        Assert.Equal([1, 2, 3], delivered);
        Assert.True(failuresLeft < 0, "the first delivery failed twice");
        Assert.Equal(0, outbox.Queued);
        await outbox.StopAsync();
    }

    [Fact]
    public async Task Events_an_earlier_activation_left_in_the_outbox_are_delivered_on_opening()
    {
        foreach (var sequence in new long[] { 7, 8 })
        {
            var left = new InvalidationEvent(Shard, sequence, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), ["k" + sequence], false);
            _connection.ExecuteInternal("INSERT INTO _outbox(seq, payload) VALUES (?, ?)", sequence, JsonSerializer.SerializeToUtf8Bytes(left, CacheJsonContext.Default.InvalidationEvent));
        }

        var delivered = new ConcurrentQueue<InvalidationEvent>();
        var outbox = Outbox(e =>
        {
            delivered.Enqueue(e);
            return Task.CompletedTask;
        });
        outbox.Replay(_connection);
        Assert.Equal(2, outbox.Pending.Count);
        outbox.Start();

        await Eventually.TrueAsync(() => delivered.Count == 2, "the two events replayed", TimeSpan.FromSeconds(10));
        Assert.Equal([7L, 8L], delivered.Select(e => e.Sequence));
        Assert.Equal(["k7"], delivered.First().Keys);

        // Once the invalidator applied them, the next commit deletes their rows in its own transaction.
        _cache.Watermarks.Advance(Shard, 8);
        Commit(outbox, _connection, 9);
        Assert.Equal(8, outbox.DeletedThrough);
        Assert.Equal(0, _connection.ExecuteScalar("SELECT count(*) FROM _outbox WHERE seq <= 8"));
        await outbox.StopAsync();
    }
}

using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Storage.Native;
using OrleansShards.Grains.Writes;

namespace OrleansShards.Grains.Caching;

/// <summary>
/// The cache coherence of one shard's commits, a plain class the TableShard grain drives from its commit observer:
/// the invalidation event of each commit is written to the <c>_outbox</c> table in the commit's own transaction
/// (<see cref="BuildPayload"/>), its keys are marked pending before the writes are acknowledged
/// (<see cref="Committed"/>), and it is published once they are (<see cref="Acknowledged"/>) — at once when nothing is
/// queued before it, else by the publish loop, in commit order, retried until it is delivered. Rows whose event the
/// invalidator applied (or older than an entry's lifetime) are deleted in a later commit. Events left in the outbox by
/// an earlier activation are replayed (<see cref="Replay"/>). Tested without a silo in <c>InvalidationOutboxTests</c>.
/// </summary>
internal sealed partial class InvalidationOutbox
{
    private readonly Channel<InvalidationEvent> _publish = Channel.CreateUnbounded<InvalidationEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Queue<(long Sequence, long AtUnixMs)> _outboxRows = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _publishGate = new();
    private readonly string _shard;
    private readonly ShardCacheServices _cache;
    private readonly CacheInterest _interest;
    private readonly TimeProvider _time;
    private readonly Func<InvalidationEvent, Task> _deliver;
    private readonly ILogger _logger;
    private int _publishQueued;
    private (InvalidationEvent Event, Task Publish)? _inlinePublish;
    private Task _publisher = Task.CompletedTask;
    private InvalidationEvent? _lastEvent;
    private InvalidationEvent? _acknowledging;

    /// <param name="shard">The shard key (<c>tenant:table</c>).</param>
    /// <param name="cache">The silo's cache services: watermarks of applied events, options.</param>
    /// <param name="interest">Whether any entry of the shard can be served now (no event is needed otherwise).</param>
    /// <param name="time">The shards' clock.</param>
    /// <param name="deliver">Delivers one event (the invalidation stream, or the invalidator grain); may fail, is retried.</param>
    /// <param name="logger">Where failures are logged.</param>
    public InvalidationOutbox(string shard, ShardCacheServices cache, CacheInterest interest, TimeProvider time, Func<InvalidationEvent, Task> deliver, ILogger logger)
    {
        _shard = shard;
        var (tenant, table) = ShardName.Parse(shard);
        Keys = new InvalidationKeys(tenant, table);
        _cache = cache;
        _interest = interest;
        _time = time;
        _deliver = deliver;
        _logger = logger;
    }

    /// <summary>The keys of commits not yet applied by the invalidator: a cached read of one needs an entry at least that new.</summary>
    public PendingKeys Pending { get; } = new();

    /// <summary>The keys a changeset invalidates (reset when the schema or the whole content changed).</summary>
    public InvalidationKeys Keys { get; }

    /// <summary>The outbox rows deleted so far go up to this sequence.</summary>
    public long DeletedThrough { get; private set; }

    /// <summary>Events published but not yet delivered, queued in order.</summary>
    public int Queued
    {
        get
        {
            lock (_publishGate)
            {
                return _publishQueued;
            }
        }
    }

    /// <summary>Commits before this time are older than any entry could be: nothing cached can predate them.</summary>
    public long EntryHorizon(long nowMs) => nowMs - (long)_cache.Options.EntryLifetime.TotalMilliseconds;

    /// <summary>
    /// On opening: every event still in the outbox is published again (the silo may have died between COMMIT and
    /// publish; the invalidator skips the ones it already applied).
    /// </summary>
    public void Replay(ShardConnection writer)
    {
        foreach (var row in writer.Query("SELECT seq, payload FROM _outbox ORDER BY seq"))
        {
            if (Decode(row[1].AsBlob) is not { } invalidation)
            {
                continue;
            }

            lock (_outboxRows)
            {
                _outboxRows.Enqueue((invalidation.Sequence, invalidation.CommittedAtUnixMs));
            }

            Pending.Add(invalidation, _cache.Watermarks.Get(_shard), EntryHorizon(_time.GetUtcNow().ToUnixTimeMilliseconds()));
            lock (_publishGate)
            {
                _publishQueued++;
                _publish.Writer.TryWrite(invalidation);
            }
        }
    }

    /// <summary>Starts the publish loop (off the caller's execution context).</summary>
    public void Start()
    {
        using (ExecutionContext.SuppressFlow())
        {
            _publisher = Task.Run(PublishLoopAsync);
        }
    }

    /// <summary>Stops the publish loop; events not delivered stay in the outbox for the next activation.</summary>
    public async Task StopAsync()
    {
        _publish.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _publisher.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// On the writer loop, inside the transaction: cleanup of done outbox rows, and the commit's invalidation event
    /// (the outbox row's payload); none while no row or index entry of the shard can be served
    /// (<see cref="CacheInterest"/>), always one for a schema change.
    /// </summary>
    public byte[]? BuildPayload(CommitContext commit)
    {
        DeleteDoneRows(commit);
        List<string>? keys;
        var flush = commit.Ddl is not null;
        if (!flush && !_interest.EventsNeeded(commit.Sequence, _time.GetUtcNow().ToUnixTimeMilliseconds()))
        {
            _lastEvent = null;
            return null;
        }

        try
        {
            keys = flush || commit.Changeset is null
                ? []
                : Keys.Extract(commit.Connection, Changeset.Read(commit.Changeset));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogKeysFailed(ex, _shard, commit.Sequence);
            keys = null;
        }

        if (keys is null)
        {
            flush = true;
            keys = [];
        }

        if (flush)
        {
            Keys.Reset();
        }

        if (keys.Count == 0 && !flush)
        {
            _lastEvent = null;
            return null;
        }

        _lastEvent = new InvalidationEvent(_shard, commit.Sequence, commit.AtUnixMs, keys, flush);
        return JsonSerializer.SerializeToUtf8Bytes(_lastEvent, CacheJsonContext.Default.InvalidationEvent);
    }

    /// <summary>In the commit's transaction: outbox rows whose event is applied, or older than an entry's lifetime, are done.</summary>
    private void DeleteDoneRows(CommitContext commit)
    {
        var done = DeletedThrough;
        lock (_outboxRows)
        {
            if (_outboxRows.Count == 0)
            {
                return;
            }

            var applied = _cache.Watermarks.Get(_shard);
            var horizon = EntryHorizon(commit.AtUnixMs);
            while (_outboxRows.TryPeek(out var row) && (row.Sequence <= applied || row.AtUnixMs < horizon))
            {
                done = _outboxRows.Dequeue().Sequence;
            }
        }

        if (done > DeletedThrough)
        {
            commit.Connection.ExecuteInternal("DELETE FROM _outbox WHERE seq <= ?", done);
            DeletedThrough = done;
        }
    }

    /// <summary>
    /// On the writer loop, after COMMIT and before the writes are acknowledged: the commit's keys become pending (a cached
    /// read of one then needs an entry at least as new until the invalidator applied it). A restore flushes the table.
    /// </summary>
    public void Committed(CommittedGroup group)
    {
        if (_acknowledging is { } unpublished)
        {
            // A commit whose acknowledged step never ran (a fault between the two): its event still leaves first.
            _acknowledging = null;
            Publish(unpublished);
        }

        if (group.IsRestore)
        {
            Keys.Reset();
            _lastEvent = new InvalidationEvent(_shard, group.Sequence, group.AtUnixMs, [], Flush: true);
        }

        if (_lastEvent is not { } invalidation || invalidation.Sequence != group.Sequence)
        {
            return;
        }

        _lastEvent = null;
        lock (_outboxRows)
        {
            _outboxRows.Enqueue((invalidation.Sequence, invalidation.CommittedAtUnixMs));
        }

        Pending.Add(invalidation, _cache.Watermarks.Get(_shard), EntryHorizon(group.AtUnixMs));
        _acknowledging = invalidation;
        group.HasAcknowledgedWork = true;
    }

    /// <summary>On the writer loop, once the commit's writes are acknowledged, in commit order: publishes its event; returns it (or null).</summary>
    public InvalidationEvent? Acknowledged(CommittedGroup group)
    {
        if (_acknowledging is not { } invalidation || invalidation.Sequence != group.Sequence)
        {
            return null;
        }

        _acknowledging = null;
        Publish(invalidation);
        return invalidation;
    }

    /// <summary>
    /// Publishes at once when nothing is queued before it (no thread hop between the commit and the stream), else queues
    /// behind the earlier events. A publish that does not complete at once is handed to the publish loop, which awaits
    /// it (and retries it on failure) before anything later, so events leave in commit order.
    /// </summary>
    private void Publish(InvalidationEvent invalidation)
    {
        lock (_publishGate)
        {
            if (_publishQueued == 0)
            {
                Task publish;
                try
                {
                    publish = _deliver(invalidation);
                }
                catch (Exception ex)
                {
                    publish = Task.FromException(ex);
                }

                if (publish.IsCompletedSuccessfully)
                {
                    return;
                }

                _inlinePublish = (invalidation, publish);
            }

            _publishQueued++;
            _publish.Writer.TryWrite(invalidation);
        }
    }

    private async Task PublishLoopAsync()
    {
        var reader = _publish.Reader;
        while (await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
        {
            while (reader.TryPeek(out var invalidation))
            {
                try
                {
                    Task? started = null;
                    lock (_publishGate)
                    {
                        if (_inlinePublish is { } inline && ReferenceEquals(inline.Event, invalidation))
                        {
                            started = inline.Publish;
                            _inlinePublish = null;
                        }
                    }

                    await (started ?? _deliver(invalidation)).ConfigureAwait(false);
                    lock (_publishGate)
                    {
                        reader.TryRead(out _);
                        _publishQueued--;
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The event stays queued (and in the outbox): publish again after a delay, in order.
                    LogPublishFailed(ex, _shard, invalidation.Sequence);
                    await Task.Delay(_cache.Options.PublishRetryDelay, _time, _stopping.Token).ConfigureAwait(false);
                }
            }
        }
    }

    private static InvalidationEvent? Decode(byte[] payload)
    {
        try
        {
            return JsonSerializer.Deserialize(payload, CacheJsonContext.Default.InvalidationEvent);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: publishing the invalidation of commit {Sequence} failed; retrying")]
    private partial void LogPublishFailed(Exception exception, string shard, long sequence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: the keys of commit {Sequence} could not be read; the table's entries are flushed")]
    private partial void LogKeysFailed(Exception exception, string shard, long sequence);
}

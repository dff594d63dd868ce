using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OrleansShards.Grains.Hosting;

namespace OrleansShards.Grains.TableShards;

/// <summary>
/// The silo-local read path: strong reads of a shard whose primary is active and open on this silo, served by that
/// activation's reader pool without an Orleans call. The HTTP API, and <see cref="LocalReadCallFilter"/> for calls made
/// through <c>IGrainFactory</c> outside grains in this process, ask here first and fall back to the grain call
/// whenever this path cannot answer (no open activation here, a sharded table, a cached or bounded read, a bookmark to
/// wait for, an activation that is moving, fenced, refusing or closing). An answer is the grain call's answer: the read
/// takes the same shared turn (never beside DDL, a restore or a switch), the same statement deadline, caps and metrics.
/// </summary>
/// <remarks>
/// An activation registers once its files are open and leaves before it closes them; reads in flight are let finish
/// first. Orleans collects activations that get no calls, so once every <see cref="KeepAlive"/> a read is sent through
/// the grain instead (its call keeps the activation, and so this path, alive).
/// </remarks>
public sealed class LocalShardReads
{
    private readonly ConcurrentDictionary<string, IReader> _open = new(StringComparer.Ordinal);
    private long _served;
    private long _registrations;

    public LocalShardReads(IOptions<TableShardOptions> options, IOptions<GrainCollectionOptions> collection)
    {
        Enabled = options.Value.LocalReads;
        var age = collection.Value.CollectionAge;
        KeepAlive = TimeSpan.FromTicks(Math.Clamp(age.Ticks / 4, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(5).Ticks));
    }

    /// <summary><see cref="TableShardOptions.LocalReads"/>.</summary>
    public bool Enabled { get; }

    /// <summary>How long this path serves a shard after the last call through its grain.</summary>
    public TimeSpan KeepAlive { get; }

    /// <summary>Shards that can be read here now (for tests and diagnostics).</summary>
    public int Count => _open.Count;

    /// <summary>Activations that registered since the silo started (each open of a shard counts once).</summary>
    public long Registrations => Interlocked.Read(ref _registrations);

    /// <summary>Reads this path answered (errors included) since the silo started.</summary>
    public long Served => Interlocked.Read(ref _served);

    /// <summary>
    /// The answer of the shard's open activation on this silo, or null when the grain must answer (the caller then makes
    /// the grain call). Typed errors of the read itself (<c>SQL_ERROR</c>, <c>TIMEOUT</c>, caps) are thrown as the grain
    /// would throw them.
    /// </summary>
    public ValueTask<QueryResult?> TryQueryAsync(string shard, QueryRequest request, CancellationToken cancellationToken = default) =>
        Enabled && _open.TryGetValue(shard, out var reader)
            ? reader.TryQueryAsync(request, cancellationToken)
            : ValueTask.FromResult<QueryResult?>(null);

    /// <summary>Called by a reader that took a read (it answers or throws).</summary>
    internal void CountServed() => Interlocked.Increment(ref _served);

    internal void Register(string shard, IReader reader)
    {
        if (Enabled)
        {
            _open[shard] = reader;
            Interlocked.Increment(ref _registrations);
        }
    }

    /// <summary>Removes <paramref name="reader"/>'s entry (not a newer activation's).</summary>
    internal void Unregister(string shard, IReader reader) => _open.TryRemove(new KeyValuePair<string, IReader>(shard, reader));

    /// <summary>An open activation, as this path sees it.</summary>
    internal interface IReader
    {
        ValueTask<QueryResult?> TryQueryAsync(QueryRequest request, CancellationToken cancellationToken);
    }
}

/// <summary>
/// Counts the local reads inside an activation so that it closes its files only after they end: <see cref="CloseAsync"/>
/// refuses new ones and completes when the last one leaves.
/// </summary>
internal sealed class LocalReadGate
{
    private int _active;
    private int _closed;
    private TaskCompletionSource? _drained;

    /// <summary>False once the gate is closed; true otherwise, and then <see cref="Exit"/> must follow.</summary>
    public bool TryEnter()
    {
        // Both sides write with a full fence before reading the other's field: a read either sees the gate closed, or
        // the closing sees the read inside and the read's exit sees the gate closed.
        Interlocked.Increment(ref _active);
        if (Volatile.Read(ref _closed) != 0)
        {
            Exit();
            return false;
        }

        return true;
    }

    public void Exit()
    {
        if (Interlocked.Decrement(ref _active) == 0 && Volatile.Read(ref _closed) != 0)
        {
            _drained?.TrySetResult();
        }
    }

    /// <summary>Refuses new reads; completes once the reads inside have left.</summary>
    public Task CloseAsync()
    {
        if (_drained is { } drained)
        {
            return drained.Task;
        }

        drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _drained = drained;
        Interlocked.Exchange(ref _closed, 1);
        if (Volatile.Read(ref _active) == 0)
        {
            drained.TrySetResult();
        }

        return drained.Task;
    }
}

using Microsoft.Extensions.Options;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Silo.Http;

/// <summary>
/// Bounds the <c>/v1</c> requests served at once by this silo to <see cref="ShardsSiloOptions.MaxConcurrentRequests"/>.
/// There is no queue: a request beyond the limit is refused at once with <c>OVERLOADED</c> (429, retryable).
/// </summary>
internal sealed class ShardsRequestLimiter(IOptions<ShardsSiloOptions> options)
{
    private readonly int _limit = options.Value.MaxConcurrentRequests;
    private int _inFlight;

    /// <summary>Requests being served now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Takes a slot, or returns false when all are taken. Each true must be paired with <see cref="Release"/>.</summary>
    public bool TryAcquire()
    {
        if (Interlocked.Increment(ref _inFlight) <= _limit)
        {
            return true;
        }

        Interlocked.Decrement(ref _inFlight);
        return false;
    }

    /// <summary>Returns a slot taken by <see cref="TryAcquire"/>.</summary>
    public void Release() => Interlocked.Decrement(ref _inFlight);
}

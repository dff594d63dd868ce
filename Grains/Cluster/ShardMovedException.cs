namespace OrleansShards.Grains.Cluster;

/// <summary>
/// <c>UNAVAILABLE</c> from an activation whose shard has just moved to another silo: the call did not run. Callers in
/// the cluster resend it once (<see cref="ShardMovedRetryFilter"/>) and it reaches the new primary.
/// </summary>
[GenerateSerializer, Alias("orleansshards.ShardMovedException")]
public sealed class ShardMovedException : ShardException
{
    /// <summary>Creates the exception for <paramref name="shard"/> moved to <paramref name="silo"/>.</summary>
    public ShardMovedException(string shard, string silo)
        : base(ShardErrorCode.Unavailable, $"Shard {shard} has moved to silo '{silo}'; retry.")
    {
    }
}

/// <summary>Resends a call refused with <see cref="ShardMovedException"/> (at most twice): the shard's new primary serves it.</summary>
public sealed class ShardMovedRetryFilter : IOutgoingGrainCallFilter
{
    private const int Resends = 2;

    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                // Not on the caller's scheduler: a caller blocking its grain turn on the call must not wait for this.
                await context.Invoke().ConfigureAwait(false);
                return;
            }
            catch (ShardMovedException) when (attempt < Resends)
            {
                // The old activation is deactivating: Orleans holds the resent message until it is gone, then places it anew.
            }
        }
    }
}

using OrleansShards.Grains.Caching;

namespace OrleansShards.Tests.Caching;

public sealed class PendingKeysTests
{
    [Fact]
    public void A_shard_that_is_only_written_does_not_keep_every_key_it_changed()
    {
        var pending = new PendingKeys();
        for (var seq = 1; seq <= 10_000; seq++)
        {
            // The invalidator keeps up: everything before this commit is applied.
            pending.Add(new InvalidationEvent("t:items", seq, 1_000 + seq, ["row:" + seq]), appliedThrough: seq - 1, horizonMs: 0);
        }

        Assert.Equal(1, pending.Count);
    }

    [Fact]
    public void Keys_stay_pending_until_applied_or_older_than_an_entry_lifetime()
    {
        var pending = new PendingKeys();
        pending.Add(new InvalidationEvent("t:items", 5, 1_000, ["a"]), appliedThrough: 0, horizonMs: 0);
        pending.Add(new InvalidationEvent("t:items", 6, 2_000, ["b"]), appliedThrough: 0, horizonMs: 0);

        Assert.Equal(5, pending.RequiredSequence("a", appliedThrough: 4, nowMs: 3_000, lifetimeMs: 10_000));
        Assert.Equal(6, pending.RequiredSequence("b", appliedThrough: 4, nowMs: 3_000, lifetimeMs: 10_000));

        // Commit 5 applied: 'a' is free; commit 6 older than the lifetime: 'b' too.
        Assert.Equal(0, pending.RequiredSequence("a", appliedThrough: 5, nowMs: 3_000, lifetimeMs: 10_000));
        Assert.Equal(0, pending.RequiredSequence("b", appliedThrough: 5, nowMs: 20_000, lifetimeMs: 10_000));
        Assert.Equal(0, pending.Count);
    }
}

using Orleans;

namespace OrleansShards;

/// <summary>The operation of an interactive transaction call.</summary>
[GenerateSerializer, Alias("orleansshards.TransactionOperation")]
public enum TransactionOperation
{
    /// <summary>Open a transaction; returns its id and expiry.</summary>
    Begin,
    /// <summary>Apply every queued statement atomically.</summary>
    Commit,
    /// <summary>Drop every queued statement.</summary>
    Rollback,
}

using Orleans;
using Orleans.Concurrency;

namespace OrleansShards;

/// <summary>
/// The record of one long operation (restore, shard, unshard, rebalance; later a silo drain), keyed by its operation id.
/// It is an Orleans grain so that any silo of a cluster reads the same record (<c>GET /v1/operations/{id}</c>). The record
/// is kept in memory while the operation runs and for <c>Shards:Operations:Retention</c> after it ended; a silo restart
/// forgets it. Reports are progress hints: a report after the end is ignored.
/// </summary>
[Alias("orleansshards.IOperationGrain")]
public interface IOperationGrain : IGrainWithStringKey
{
    /// <summary>Creates the record in state <c>running</c>, phase <c>starting</c>.</summary>
    /// <remarks>Errors: <c>INVALID_ARGUMENT</c> when this id was already used (ids are single-use).</remarks>
    [Alias("StartAsync")]
    Task<OperationInfo> StartAsync(OperationStart start);

    /// <summary>Sets the phase and the progress figures of a running operation; ignored once it ended.</summary>
    [Alias("ReportAsync")]
    Task ReportAsync(OperationProgress progress);

    /// <summary>Ends the operation as <c>completed</c>; <paramref name="done"/> (when given) becomes both done and total.</summary>
    [Alias("CompleteAsync")]
    Task<OperationInfo> CompleteAsync(long? done = null);

    /// <summary>Ends the operation as <c>failed</c> with the error's code and message.</summary>
    [Alias("FailAsync")]
    Task<OperationInfo> FailAsync(OperationError error);

    /// <summary>The record, or null when no operation has this id (never started, or forgotten after its retention).</summary>
    [ReadOnly]
    [Alias("GetAsync")]
    Task<OperationInfo?> GetAsync();
}

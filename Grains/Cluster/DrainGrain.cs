using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace OrleansShards.Grains.Cluster;

/// <summary>A drain of one silo, keyed by its operation id: moves every primary the silo holds to the other silos.</summary>
[Alias("orleansshards.IDrainGrain")]
public interface IDrainGrain : IGrainWithStringKey
{
    /// <summary>
    /// Starts draining <paramref name="silo"/> (once; later calls return the running drain's record). Progress is the
    /// operation record of the same id (<see cref="IOperationGrain"/>, <c>GET /v1/operations/{id}</c>).
    /// </summary>
    [Alias("StartAsync")]
    Task<OperationInfo> StartAsync(string silo);
}

/// <summary>
/// Marks the silo draining (new shards go elsewhere), then moves its primaries one by one, each to the active,
/// not draining silo with the fewest primaries. A shard that fails to move is tried again once; the drain ends
/// <c>failed</c> naming the shards left, or <c>completed</c>. The silo stays marked until it restarts.
/// </summary>
[Reentrant]
internal sealed partial class DrainGrain(IShardOwnership ownership, ClusterView cluster, IGrainFactory grains, ILogger<DrainGrain> logger) : Grain, IDrainGrain
{
    private OperationInfo? _started;
    private Task? _run;

    private IOperationGrain Record => grains.GetOperation(tenant: null, this.GetPrimaryKeyString());

    public async Task<OperationInfo> StartAsync(string silo)
    {
        if (_started is { } running)
        {
            return running;
        }

        if (!ownership.IsDistributed)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, "Draining needs cluster mode (Shards:Cluster:Redis).");
        }

        if (!cluster.ActiveMembers().Any(m => m.Name == silo))
        {
            throw new ShardException(ShardErrorCode.NotFound, $"No active silo is named '{silo}'.");
        }

        if (!cluster.ActiveMembers().Any(m => m.Name != silo))
        {
            throw new ShardException(ShardErrorCode.Unavailable, $"Silo '{silo}' is the only active silo: there is nowhere to move its shards.");
        }

        _started = await Record.StartAsync(new OperationStart(OperationKinds.Drain, Tenant: null, Target: silo));
        this.DelayDeactivation(TimeSpan.FromHours(6));
        _run = RunAsync(silo);
        return _started;
    }

    private async Task RunAsync(string silo)
    {
        var id = this.GetPrimaryKeyString();
        LogStarted(id, silo);
        var state = OperationStates.Failed;
        long done = 0;
        long total = 0;
        try
        {
            await ownership.SetDrainingAsync(silo, true);
            var shards = (await ownership.ListAsync(silo)).Select(e => e.Shard).ToList();
            total = shards.Count;
            await Record.ReportAsync(new OperationProgress("moving", 0, total));
            var failed = new List<string>();
            foreach (var shard in shards)
            {
                if (!await TryMoveAsync(shard, silo) && !await TryMoveAsync(shard, silo))
                {
                    failed.Add(shard);
                }

                await Record.ReportAsync(new OperationProgress("moving", ++done, total));
            }

            // Then its replicas: each shard's primary seeds a new one elsewhere and drops the copy here, so every shard
            // keeps its copies once the silo is gone.
            var replicated = (await ownership.ListAsync()).Where(e => e.Owner.Replicas.Contains(silo)).Select(e => e.Shard).ToList();
            total += replicated.Count;
            await Record.ReportAsync(new OperationProgress("replicas", done, total));
            foreach (var shard in replicated)
            {
                if (!await TryReplaceAsync(shard, silo) && !await TryReplaceAsync(shard, silo))
                {
                    failed.Add(shard + " (replica)");
                }

                await Record.ReportAsync(new OperationProgress("replicas", ++done, total));
            }

            if (failed.Count == 0)
            {
                await Record.CompleteAsync(done);
                state = OperationStates.Completed;
            }
            else
            {
                await Record.FailAsync(new OperationError(ShardErrorCode.Unavailable.ToWire(), $"{failed.Count} shards did not move: {string.Join(", ", failed.Take(20))}"));
            }
        }
        catch (Exception ex)
        {
            var code = ex is ShardException shard ? shard.Code : ShardErrorCode.Internal;
            await Record.FailAsync(new OperationError(code.ToWire(), ex.Message));
        }

        if (state != OperationStates.Completed)
        {
            // Not drained: the silo still holds primaries (or replicas) and stays in service, so it takes new shards again
            // (else, with other silos draining, new tables would all go to the few left). Draining it again marks it again.
            try
            {
                await ownership.SetDrainingAsync(silo, false);
            }
            catch (ShardException ex)
            {
                LogUnmarkFailed(silo, ex.Message);
            }
        }

        LogEnded(id, silo, state, done, total);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} stays marked draining after its drain failed (the map did not answer: {Reason}); it is cleared when the silo starts again")]
    private partial void LogUnmarkFailed(string silo, string reason);

    private async Task<bool> TryMoveAsync(string shard, string silo)
    {
        try
        {
            var owner = await ownership.GetAsync(shard);
            if (owner is null || owner.Primary != silo)
            {
                return true; // moved or dropped meanwhile
            }

            var counts = await ownership.PrimaryCountsAsync();
            var draining = await ownership.DrainingAsync();
            var target = cluster.ActiveMembers()
                .Where(m => m.Name != silo && !draining.Contains(m.Name))
                .OrderBy(m => counts.GetValueOrDefault(m.Name))
                .Select(m => m.Name)
                .FirstOrDefault() ?? throw new ShardException(ShardErrorCode.Unavailable, "No active silo can take the shard.");
            var result = await grains.GetGrain<IShardMove>(shard).MoveToAsync(target);
            LogMoved(shard, result.To, result.Bytes, result.StallMs);
            return true;
        }
        catch (Exception ex)
        {
            LogMoveFailed(ex, shard, silo);
            return false;
        }
    }

    private async Task<bool> TryReplaceAsync(string shard, string silo)
    {
        try
        {
            var owner = await ownership.GetAsync(shard);
            if (owner is null || !owner.Replicas.Contains(silo))
            {
                return true; // replaced or dropped meanwhile
            }

            var replacement = await grains.GetGrain<IShardMove>(shard).ReplaceReplicaAsync(silo);
            LogReplaced(shard, silo, replacement ?? "(none: no longer a replica)");
            return true;
        }
        catch (Exception ex)
        {
            LogMoveFailed(ex, shard, silo);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Drain replaced the replica of {Shard} on silo {Silo} by one on {Replacement}")]
    private partial void LogReplaced(string shard, string silo, string replacement);

    [LoggerMessage(Level = LogLevel.Information, Message = "Drain {Id} of silo {Silo} started")]
    private partial void LogStarted(string id, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Drain {Id} of silo {Silo} ended {State}: {Done}/{Total} shards")]
    private partial void LogEnded(string id, string silo, string state, long done, long total);

    [LoggerMessage(Level = LogLevel.Information, Message = "Drain moved {Shard} to {Target}: {Bytes} bytes, writes waited {StallMs:0.0} ms")]
    private partial void LogMoved(string shard, string target, long bytes, double stallMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drain could not move {Shard} off silo {Silo}")]
    private partial void LogMoveFailed(Exception exception, string shard, string silo);
}

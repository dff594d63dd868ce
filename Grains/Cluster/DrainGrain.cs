using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace OrleansShards.Grains.Cluster;

/// <summary>Progress of a drain: <c>GET /v1/operations/{id}</c>.</summary>
[GenerateSerializer, Immutable, Alias("orleansshards.DrainStatus")]
public sealed record DrainStatus(
    [Id(0)] string Id,
    [Id(1)] string Kind,
    [Id(2)] string State,
    [Id(3)] string Phase,
    [Id(4)] long Done,
    [Id(5)] long Total,
    [Id(6)] DateTimeOffset StartedAt,
    [Id(7)] string? Error,
    [Id(8)] string Silo);

/// <summary>A drain of one silo, keyed by its operation id: moves every primary the silo holds to the other silos.</summary>
[Alias("orleansshards.IDrainGrain")]
public interface IDrainGrain : IGrainWithStringKey
{
    /// <summary>Starts draining <paramref name="silo"/> (once; later calls return the running drain's status).</summary>
    [Alias("StartAsync")]
    Task<DrainStatus> StartAsync(string silo);

    /// <summary>The drain's progress; <c>NOT_FOUND</c> when this id never started.</summary>
    [AlwaysInterleave]
    [Alias("GetAsync")]
    Task<DrainStatus> GetAsync();
}

/// <summary>
/// Marks the silo draining (new shards go elsewhere), then moves its primaries one by one, each to the active,
/// not draining silo with the fewest primaries. A shard that fails to move is tried again once; the drain ends
/// <c>failed</c> naming the shards left, or <c>completed</c>. The silo stays marked until it restarts.
/// </summary>
[Reentrant]
internal sealed partial class DrainGrain(IShardOwnership ownership, ClusterView cluster, IGrainFactory grains, ILogger<DrainGrain> logger) : Grain, IDrainGrain
{
    private DrainStatus? _status;
    private Task? _run;

    public Task<DrainStatus> StartAsync(string silo)
    {
        if (_status is { } running)
        {
            return Task.FromResult(running);
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

        _status = new DrainStatus(this.GetPrimaryKeyString(), "drain", "running", "listing", 0, 0, DateTimeOffset.UtcNow, null, silo);
        this.DelayDeactivation(TimeSpan.FromHours(6));
        _run = RunAsync(silo);
        return Task.FromResult(_status);
    }

    public Task<DrainStatus> GetAsync() => _status is { } status
        ? Task.FromResult(status)
        : throw new ShardException(ShardErrorCode.NotFound, $"No operation {this.GetPrimaryKeyString()}.");

    private async Task RunAsync(string silo)
    {
        var id = this.GetPrimaryKeyString();
        LogStarted(id, silo);
        try
        {
            await ownership.SetDrainingAsync(silo, true);
            var shards = (await ownership.ListAsync(silo)).Select(e => e.Shard).ToList();
            _status = _status! with { Phase = "moving", Total = shards.Count };
            var failed = new List<string>();
            foreach (var shard in shards)
            {
                if (!await TryMoveAsync(shard, silo) && !await TryMoveAsync(shard, silo))
                {
                    failed.Add(shard);
                }

                _status = _status with { Done = _status.Done + 1 };
            }

            _status = failed.Count == 0
                ? _status with { State = "completed", Phase = "done" }
                : _status with { State = "failed", Phase = "done", Error = $"{failed.Count} shards did not move: {string.Join(", ", failed.Take(20))}" };
        }
        catch (Exception ex)
        {
            _status = _status! with { State = "failed", Error = ex.Message };
        }

        LogEnded(id, silo, _status.State, _status.Done, _status.Total);
    }

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Drain {Id} of silo {Silo} started")]
    private partial void LogStarted(string id, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Drain {Id} of silo {Silo} ended {State}: {Done}/{Total} shards")]
    private partial void LogEnded(string id, string silo, string state, long done, long total);

    [LoggerMessage(Level = LogLevel.Information, Message = "Drain moved {Shard} to {Target}: {Bytes} bytes, writes waited {StallMs:0.0} ms")]
    private partial void LogMoved(string shard, string target, long bytes, double stallMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drain could not move {Shard} off silo {Silo}")]
    private partial void LogMoveFailed(Exception exception, string shard, string silo);
}

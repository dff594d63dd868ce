using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace OrleansShards.Grains.Cluster;

/// <summary>A rebalance of the cluster's primaries, keyed by its operation id.</summary>
[Alias("orleansshards.IClusterRebalanceGrain")]
public interface IClusterRebalanceGrain : IGrainWithStringKey
{
    /// <summary>
    /// Starts evening out the primaries of the active silos until the busiest holds at most
    /// <paramref name="maxSkew"/> more than the idlest (once; later calls return the running record). Progress is the
    /// operation record of the same id (<c>GET /v1/operations/{id}</c>).
    /// </summary>
    [Alias("StartAsync")]
    Task<OperationInfo> StartAsync(int maxSkew);
}

/// <summary>
/// Moves primaries, one at a time and online (<see cref="IShardMove.MoveToAsync"/>, as a drain does), from the active,
/// not draining silo with the most primaries to the one with the fewest, until they differ by at most the allowed
/// skew. Each move prefers a shard that already has a replica on the target (its copy is only caught up, not seeded).
/// A shard is moved at most once per rebalance, so the run is bounded by the number of shards; a shard that fails to
/// move is skipped, and the rebalance ends <c>failed</c> naming it if the silos stay uneven.
/// </summary>
[Reentrant]
internal sealed partial class ClusterRebalanceGrain(IShardOwnership ownership, ClusterView cluster, IGrainFactory grains, ILogger<ClusterRebalanceGrain> logger)
    : Grain, IClusterRebalanceGrain
{
    /// <summary>Largest skew accepted (a larger one would leave any cluster as it is).</summary>
    public const int MaxSkewLimit = 1_000_000;

    private OperationInfo? _started;
    private Task? _run;

    private IOperationGrain Record => grains.GetOperation(tenant: null, this.GetPrimaryKeyString());

    public async Task<OperationInfo> StartAsync(int maxSkew)
    {
        if (_started is { } running)
        {
            return running;
        }

        if (!ownership.IsDistributed)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, "Rebalancing the cluster needs cluster mode (Shards:Cluster:Redis).");
        }

        if (maxSkew is < 1 or > MaxSkewLimit)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"maxSkew must be between 1 and {MaxSkewLimit}; it is {maxSkew}.");
        }

        _started = await Record.StartAsync(new OperationStart(OperationKinds.ClusterRebalance, Tenant: null, Target: "cluster"));
        this.DelayDeactivation(TimeSpan.FromHours(6));
        _run = RunAsync(maxSkew);
        return _started;
    }

    private async Task RunAsync(int maxSkew)
    {
        var id = this.GetPrimaryKeyString();
        LogStarted(id, maxSkew);
        var state = OperationStates.Failed;
        long done = 0;
        long total = 0;
        try
        {
            var tried = new HashSet<string>(StringComparer.Ordinal);
            var failed = new List<string>();
            while (true)
            {
                var plan = await PlanAsync(maxSkew, tried);
                total = Math.Max(total, done + plan.MovesLeft);
                await Record.ReportAsync(new OperationProgress("moving", done, total));
                if (plan.Move is not { } move)
                {
                    if (plan.MovesLeft > 0)
                    {
                        var why = failed.Count > 0
                            ? $"{failed.Count} shards did not move: {string.Join(", ", failed.Take(20))}"
                            : "every shard of the busiest silo was moved once already";
                        await Record.FailAsync(new OperationError(ShardErrorCode.Unavailable.ToWire(), $"The silos are still uneven ({plan.Describe()}); {why}."));
                    }
                    else
                    {
                        await Record.CompleteAsync(done);
                        state = OperationStates.Completed;
                    }

                    break;
                }

                tried.Add(move.Shard);
                if (await TryMoveAsync(move))
                {
                    done++;
                }
                else
                {
                    failed.Add(move.Shard);
                }
            }
        }
        catch (Exception ex)
        {
            var code = ex is ShardException shard ? shard.Code : ShardErrorCode.Internal;
            await Record.FailAsync(new OperationError(code.ToWire(), ex.Message));
        }

        LogEnded(id, state, done);
    }

    /// <summary>The next move, from the map as it is now (shards come and go, and a move may have failed).</summary>
    private async Task<RebalancePlan> PlanAsync(int maxSkew, IReadOnlySet<string> tried)
    {
        var draining = await ownership.DrainingAsync();
        var silos = cluster.ActiveMembers()
            .Select(m => m.Name)
            .Where(n => !draining.Contains(n))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var entries = await ownership.ListAsync();
        return RebalancePlan.Next(silos, entries, maxSkew, tried);
    }

    private async Task<bool> TryMoveAsync(RebalanceMove move)
    {
        try
        {
            var result = await grains.GetGrain<IShardMove>(move.Shard).MoveToAsync(move.To);
            LogMoved(move.Shard, move.From, result.To, result.Bytes, result.StallMs);
            return true;
        }
        catch (Exception ex)
        {
            LogMoveFailed(ex, move.Shard, move.From, move.To);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Cluster rebalance {Id} started (max skew {MaxSkew})")]
    private partial void LogStarted(string id, int maxSkew);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cluster rebalance {Id} ended {State}: {Moved} shards moved")]
    private partial void LogEnded(string id, string state, long moved);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cluster rebalance moved {Shard} from {From} to {Target}: {Bytes} bytes, writes waited {StallMs:0.0} ms")]
    private partial void LogMoved(string shard, string from, string target, long bytes, double stallMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster rebalance could not move {Shard} from {From} to {Target}")]
    private partial void LogMoveFailed(Exception exception, string shard, string from, string target);
}

/// <summary>One move of a rebalance.</summary>
internal sealed record RebalanceMove(string Shard, string From, string To);

/// <summary>
/// What a rebalance does next, computed from the ownership map: the primaries per eligible silo, the move that narrows
/// the gap between the busiest and the idlest, and how many moves are still needed at least. Primaries on silos that
/// are not eligible (dead, draining) are left to failover and drains.
/// </summary>
internal sealed record RebalancePlan(IReadOnlyDictionary<string, int> Counts, RebalanceMove? Move, int MovesLeft)
{
    /// <summary>The plan for <paramref name="silos"/> (eligible, active) given the map's <paramref name="entries"/>.</summary>
    public static RebalancePlan Next(
        IReadOnlyList<string> silos, IReadOnlyList<(string Shard, ShardOwner Owner)> entries, int maxSkew, IReadOnlySet<string> tried)
    {
        var counts = silos.ToDictionary(s => s, _ => 0, StringComparer.Ordinal);
        foreach (var (_, owner) in entries)
        {
            if (counts.TryGetValue(owner.Primary, out var n))
            {
                counts[owner.Primary] = n + 1;
            }
        }

        if (counts.Count < 2)
        {
            return new RebalancePlan(counts, null, 0);
        }

        var movesLeft = MovesNeeded(counts.Values.ToList(), maxSkew);
        if (movesLeft == 0)
        {
            return new RebalancePlan(counts, null, 0);
        }

        // From the busiest silo that still has a shard not tried, to the idlest; ties broken by name for a stable order.
        var idlest = counts.OrderBy(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).First();
        foreach (var busiest in counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal))
        {
            if (busiest.Value - idlest.Value <= maxSkew)
            {
                break;
            }

            var shard = entries
                .Where(e => e.Owner.Primary == busiest.Key && !tried.Contains(e.Shard))
                .OrderBy(e => e.Owner.Replicas.Contains(idlest.Key) ? 0 : 1)
                .ThenBy(e => e.Shard, StringComparer.Ordinal)
                .Select(e => e.Shard)
                .FirstOrDefault();
            if (shard is not null)
            {
                return new RebalancePlan(counts, new RebalanceMove(shard, busiest.Key, idlest.Key), movesLeft);
            }
        }

        return new RebalancePlan(counts, null, movesLeft);
    }

    /// <summary>
    /// The fewest single moves that bring <paramref name="counts"/> within <paramref name="maxSkew"/>: moving one from
    /// the busiest to the idlest until they are close enough (each move lowers the busiest or raises the idlest).
    /// </summary>
    public static int MovesNeeded(List<int> counts, int maxSkew)
    {
        var sorted = counts.ToList();
        var moves = 0;
        while (true)
        {
            sorted.Sort();
            if (sorted[^1] - sorted[0] <= maxSkew)
            {
                return moves;
            }

            sorted[^1]--;
            sorted[0]++;
            moves++;
        }
    }

    /// <summary>The counts, for a message: <c>s1=4, s2=1</c>.</summary>
    public string Describe() => string.Join(", ", Counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}"));
}

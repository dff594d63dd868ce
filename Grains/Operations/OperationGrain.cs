using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Hosting;

namespace OrleansShards.Grains.Operations;

/// <summary>
/// The record of one long operation (<see cref="IOperationGrain"/>), in memory, keyed <c>tenant/id</c> (an operator's:
/// <c>/id</c>, see <see cref="OperationIds.GrainKey"/>). It stays active while the operation runs
/// and for <see cref="OperationOptions.Retention"/> after it ended; asking for an unknown id leaves nothing behind.
/// </summary>
internal sealed class OperationGrain(IOptions<OperationOptions> options, [FromKeyedServices(ShardClock.ServiceKey)] TimeProvider clock)
    : Grain, IOperationGrain
{
    private readonly TimeSpan _retention = options.Value.Retention;
    private OperationInfo? _info;

    public Task<OperationInfo> StartAsync(OperationStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        var (tenant, id) = OperationIds.ParseGrainKey(this.GetPrimaryKeyString());
        if (!string.Equals(tenant, start.Tenant, StringComparison.Ordinal))
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"Operation {id} of {start.Tenant ?? "the operator"} is recorded under its own tenant's key.");
        }

        if (_info is not null)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"Operation id {id} is already used; choose a new one.");
        }

        _info = new OperationInfo(id, start.Kind, start.Target, OperationStates.Running, "starting", 0, Math.Max(0, start.Total), clock.GetUtcNow(), Tenant: start.Tenant);
        DelayDeactivation(_retention);
        return Task.FromResult(_info);
    }

    public Task ReportAsync(OperationProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        if (_info is { State: OperationStates.Running } info)
        {
            if (!string.Equals(info.Phase, progress.Phase, StringComparison.Ordinal))
            {
                DelayDeactivation(_retention);
            }

            _info = info with { Phase = progress.Phase, Done = Math.Max(0, progress.Done), Total = Math.Max(0, progress.Total) };
        }

        return Task.CompletedTask;
    }

    public Task<OperationInfo> CompleteAsync(long? done = null) => EndAsync(info => info with
    {
        State = OperationStates.Completed,
        Phase = "done",
        Done = done ?? info.Done,
        Total = done ?? Math.Max(info.Total, info.Done),
    });

    public Task<OperationInfo> FailAsync(OperationError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return EndAsync(info => info with { State = OperationStates.Failed, Error = error });
    }

    public Task<OperationInfo?> GetAsync()
    {
        if (_info is null)
        {
            // Nothing to keep: an unknown id must not leave an activation behind.
            DeactivateOnIdle();
        }

        return Task.FromResult(_info);
    }

    private Task<OperationInfo> EndAsync(Func<OperationInfo, OperationInfo> end)
    {
        if (_info is not { } info)
        {
            throw new ShardException(ShardErrorCode.NotFound, $"Operation {OperationIds.ParseGrainKey(this.GetPrimaryKeyString()).Id} was not started.");
        }

        if (info.State == OperationStates.Running)
        {
            _info = end(info) with { EndedAt = clock.GetUtcNow() };
            DelayDeactivation(_retention);
        }

        return Task.FromResult(_info);
    }
}

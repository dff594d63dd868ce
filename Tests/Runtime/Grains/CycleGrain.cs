using OrleansShards.Runtime;

namespace OrleansShards.Tests.Runtime.Grains;

public interface ICycleGrain : IGrainWithStringKey
{
    /// <summary>Calls <paramref name="peer"/>, which calls back this grain: A→B→A.</summary>
    Task<string> CallThrough(string peer);

    /// <summary>Calls grain <paramref name="target"/>.Echo and returns its answer.</summary>
    Task<string> CallBack(string target);

    Task<string> Echo();

    /// <summary>Starts work that calls this grain once barrier "fire" opens, after the turn ended.</summary>
    Task StartFireAndForget();

    /// <summary>Calls <paramref name="peer"/> which leaves work behind that calls this grain back.</summary>
    Task<string> CallPeerThatLeavesWork(string peer, string barrier);

    /// <summary>Leaves work behind that calls <paramref name="target"/>.Echo once <paramref name="barrier"/> opens.</summary>
    Task LeaveWorkCalling(string target, string barrier);
}

public sealed class CycleGrain(Probe probe) : Grain, ICycleGrain
{
    public Task<string> CallThrough(string peer) =>
        GrainFactory.GetGrain<ICycleGrain>(peer).CallBack(GetPrimaryKeyString());

    public Task<string> CallBack(string target) => GrainFactory.GetGrain<ICycleGrain>(target).Echo();

    public Task<string> Echo() => Task.FromResult(GetPrimaryKeyString());

    public Task StartFireAndForget()
    {
        LeaveWork(GetPrimaryKeyString(), "fire");
        return Task.CompletedTask;
    }

    public async Task<string> CallPeerThatLeavesWork(string peer, string barrier)
    {
        await GrainFactory.GetGrain<ICycleGrain>(peer).LeaveWorkCalling(GetPrimaryKeyString(), barrier);

        // Still inside this turn: the peer's leftover work calls us now; it must queue, not fail.
        probe.Open(barrier);
        await probe.Barrier("leftover-done").Task;
        return "done";
    }

    public Task LeaveWorkCalling(string target, string barrier)
    {
        LeaveWork(target, barrier);
        return Task.CompletedTask;
    }

    private void LeaveWork(string target, string barrier)
    {
        var self = GrainFactory.GetGrain<ICycleGrain>(target);
        _ = Task.Run(async () =>
        {
            await probe.Barrier(barrier).Task;
            try
            {
                // Do not wait for the answer inside the test's turn: log the outcome when it comes.
                var pending = self.Echo();
                probe.Open("leftover-done");
                probe.Log("leftover:" + await pending);
            }
            catch (Exception ex)
            {
                probe.Open("leftover-done");
                probe.Log("leftover-failed:" + ex.GetType().Name);
            }
        });
    }
}

using Orleans.Streams;
using Orleans.Streams.Core;

namespace OrleansShards.Tests.Infrastructure.Grains;

/// <summary>Handles every item of its "probe" stream into <see cref="StreamLog"/>.</summary>
[ImplicitStreamSubscription(Namespace)]
public sealed class ProbeStreamGrain : Grain, IProbeStreamGrain, IStreamSubscriptionObserver, IAsyncObserver<ProbeEvent>
{
    public const string Namespace = "probe";

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        await handleFactory.Create<ProbeEvent>().ResumeAsync(this);

    public Task OnNextAsync(ProbeEvent item, StreamSequenceToken? token = null)
    {
        StreamLog.For(this.GetPrimaryKeyString()).Handle(item);
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;
}

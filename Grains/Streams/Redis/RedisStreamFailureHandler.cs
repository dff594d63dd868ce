using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansShards.Grains.Streams.Redis;

/// <summary>
/// Called by Orleans when delivering an item kept failing for <c>StreamPullingAgentOptions.MaxEventDeliveryTime</c>
/// (until then Orleans retries with backoff). Logs the item as lost for that subscription; subscriptions are not
/// faulted, so the stream goes on with its next item.
/// </summary>
internal sealed partial class RedisStreamFailureHandler(ILogger<RedisStreamFailureHandler> logger) : IStreamFailureHandler
{
    private readonly ILogger _logger = logger;

    public bool ShouldFaultSubsriptionOnError => false;

    public Task OnDeliveryFailure(GuidId subscriptionId, string streamProviderName, StreamId streamIdentity, StreamSequenceToken? sequenceToken)
    {
        LogDeliveryFailure(streamProviderName, streamIdentity, subscriptionId, sequenceToken);
        return Task.CompletedTask;
    }

    public Task OnSubscriptionFailure(GuidId subscriptionId, string streamProviderName, StreamId streamIdentity, StreamSequenceToken? sequenceToken)
    {
        LogSubscriptionFailure(streamProviderName, streamIdentity, subscriptionId, sequenceToken);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Provider {Provider}: delivery to subscription {SubscriptionId} of stream {StreamId} failed past the retry window; item {Token} skipped")]
    private partial void LogDeliveryFailure(string provider, StreamId streamId, GuidId subscriptionId, StreamSequenceToken? token);

    [LoggerMessage(Level = LogLevel.Error, Message = "Provider {Provider}: subscription {SubscriptionId} of stream {StreamId} failed at {Token}")]
    private partial void LogSubscriptionFailure(string provider, StreamId streamId, GuidId subscriptionId, StreamSequenceToken? token);
}

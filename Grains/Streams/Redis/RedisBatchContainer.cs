using Orleans;
using Orleans.Providers.Streams.Common;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansShards.Grains.Streams.Redis;

/// <summary>
/// The events of one publish call on one stream: one Redis stream entry. Serialized with the Orleans
/// serializer, so event types must be Orleans-serializable. The sequence token and Redis entry id are
/// assigned when the entry is read.
/// </summary>
[GenerateSerializer]
internal sealed class RedisBatchContainer : IBatchContainer
{
    public RedisBatchContainer(StreamId streamId, List<object> events, Dictionary<string, object>? requestContext)
    {
        StreamId = streamId;
        Events = events;
        RequestContext = requestContext;
    }

    [Id(0)]
    public StreamId StreamId { get; private set; }

    [Id(1)]
    public List<object> Events { get; private set; }

    [Id(2)]
    public Dictionary<string, object>? RequestContext { get; private set; }

    [Id(3)]
    public EventSequenceTokenV2? Token { get; set; }

    /// <summary>The Redis stream entry id (<c>ms-seq</c>), acknowledged once delivered.</summary>
    [Id(4)]
    public string? EntryId { get; set; }

    public StreamSequenceToken SequenceToken => Token ?? throw new InvalidOperationException("The batch was not read from Redis yet.");

    public IEnumerable<Tuple<T, StreamSequenceToken>> GetEvents<T>()
    {
        var token = Token ?? throw new InvalidOperationException("The batch was not read from Redis yet.");
        for (var i = 0; i < Events.Count; i++)
        {
            if (Events[i] is T item)
            {
                yield return Tuple.Create<T, StreamSequenceToken>(item, token.CreateSequenceTokenForEvent(i));
            }
        }
    }

    public bool ImportRequestContext()
    {
        if (RequestContext is null)
        {
            return false;
        }

        RequestContextExtensions.Import(RequestContext);
        return true;
    }

    public override string ToString() => $"RedisBatchContainer({StreamId}, {Events.Count} events, entry {EntryId})";
}

namespace OrleansShards.Runtime.Streams;

/// <summary>The position of an item in its stream; increases with every item of one stream.</summary>
/// <param name="SequenceNumber">Monotonic per stream (in-memory provider) or the provider's entry id order.</param>
/// <param name="ProviderId">The provider's own id of the entry (the Redis stream entry id), when it has one.</param>
public sealed record StreamSequenceToken(long SequenceNumber, string? ProviderId = null);

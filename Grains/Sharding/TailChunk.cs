using Orleans.Concurrency;

namespace OrleansShards.Grains.Sharding;

/// <summary>Primary keys changed by a run of commits.</summary>
/// <param name="LastSequence">The newest sequence read (the next read starts after it).</param>
/// <param name="More">True when commits remain after <paramref name="LastSequence"/>.</param>
/// <param name="Keys">Changed primary keys by table name (case-insensitive), de-duplicated.</param>
/// <param name="SchemaChanged">True when a DDL commit is in the range.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.sharding.TailChunk")]
internal sealed record TailChunk([Id(0)] long LastSequence, [Id(1)] bool More, [Id(2)] IReadOnlyDictionary<string, List<SqlValue[]>> Keys, [Id(3)] bool SchemaChanged);

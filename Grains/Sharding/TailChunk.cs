namespace OrleansShards.Grains.Sharding;

/// <summary>Primary keys changed by a run of commits.</summary>
/// <param name="LastSequence">The newest sequence read (the next read starts after it).</param>
/// <param name="More">True when commits remain after <paramref name="LastSequence"/>.</param>
/// <param name="Keys">Changed primary keys by table name (case-insensitive), de-duplicated.</param>
/// <param name="SchemaChanged">True when a DDL commit is in the range.</param>
internal sealed record TailChunk(long LastSequence, bool More, IReadOnlyDictionary<string, List<SqlValue[]>> Keys, bool SchemaChanged);

namespace OrleansShards.Runtime.Streams;

/// <summary>A stream's identity: a namespace (what kind of events) and a key (whose events).</summary>
public readonly record struct StreamId(string Namespace, string Key)
{
    /// <inheritdoc />
    public override string ToString() => Namespace + "/" + Key;
}

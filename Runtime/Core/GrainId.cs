namespace OrleansShards.Runtime;

/// <summary>
/// Identity of a grain: its implementation type name and its string key. Every interface the
/// implementation exposes resolves to the same id, so a stream delivery and a typed call meet
/// the same activation.
/// </summary>
public readonly record struct GrainId(string Type, string Key)
{
    /// <inheritdoc />
    public override string ToString() => Type + "/" + Key;
}

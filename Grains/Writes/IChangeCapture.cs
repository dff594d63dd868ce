using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Writes;

/// <summary>Captures the changes of one writer transaction (the change log uses SQLite's session extension).</summary>
internal interface IChangeCapture
{
    /// <summary>Starts capturing on <paramref name="writer"/>, before the transaction's first statement.</summary>
    IChangeCaptureScope Begin(ShardConnection writer);
}

/// <summary>One transaction's capture.</summary>
internal interface IChangeCaptureScope : IDisposable
{
    /// <summary>The changeset so far, or null when nothing changed.</summary>
    byte[]? TakeChangeset();
}

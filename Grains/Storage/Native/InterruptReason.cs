namespace OrleansShards.Grains.Storage.Native;

/// <summary>Why <see cref="ProgressDeadline"/> interrupted the running statement, if it did.</summary>
internal enum InterruptReason
{
    /// <summary>The progress handler has not interrupted the current deadline scope.</summary>
    None = 0,
    /// <summary>The statement ran past its deadline: the engine reports TIMEOUT.</summary>
    Deadline = 1,
    /// <summary>The caller's cancellation token was signalled.</summary>
    Canceled = 2,
}

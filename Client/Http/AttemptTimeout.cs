namespace OrleansShards.Client.Http;

/// <summary>The time limit of one HTTP attempt and what set it (named in the <c>TIMEOUT</c> message).</summary>
/// <param name="Limit">From sending to the last byte of the answer; <see cref="Timeout.InfiniteTimeSpan"/> for none.</param>
/// <param name="Source">The option or request member the limit comes from, e.g. <c>ShardsClientOptions.OperationTimeout</c>.</param>
internal readonly record struct AttemptTimeout(TimeSpan Limit, string Source);

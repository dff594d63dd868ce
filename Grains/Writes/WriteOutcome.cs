namespace OrleansShards.Grains.Writes;

/// <summary>The acknowledged result of a unit of write work: per-statement results and its commit sequence.</summary>
internal sealed record WriteOutcome(IReadOnlyList<StatementResult> Results, long Sequence, bool Replayed = false);

namespace OrleansShards;

/// <summary>Schema change applied.</summary>
/// <param name="Ok">Always true; failures raise <see cref="ShardException"/>.</param>
/// <param name="Bookmark">The bookmark of the commit that applied the change.</param>
public sealed record DdlResult(bool Ok, string? Bookmark = null);

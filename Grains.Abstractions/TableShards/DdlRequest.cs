namespace OrleansShards;

/// <summary>Schema statements (CREATE/ALTER/DROP TABLE, INDEX, VIEW, TRIGGER); several may be sent at once, applied atomically.</summary>
/// <param name="Query">One or more statements separated by semicolons.</param>
public sealed record DdlRequest(string Query);

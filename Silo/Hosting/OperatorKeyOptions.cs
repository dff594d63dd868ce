namespace OrleansShards.Silo.Hosting;

/// <summary>
/// One operator key: it opens <c>/metrics</c> and <c>/dashboard</c> (which name tenants and tables) and no tenant's data.
/// Configure the key's SHA-256 (<see cref="KeySha256"/>, preferred) or the key (<see cref="Key"/>, hashed at start).
/// </summary>
public sealed class OperatorKeyOptions
{
    /// <summary>SHA-256 of the key's UTF-8 bytes, as 64 hex digits.</summary>
    public string? KeySha256 { get; set; }

    /// <summary>The key itself (at least 16 characters); prefer <see cref="KeySha256"/>.</summary>
    public string? Key { get; set; }
}

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// One API key of one tenant. Configure the key's SHA-256 (<see cref="KeySha256"/>, preferred: the key itself
/// then never appears in configuration) or the key (<see cref="Key"/>, hashed at start and then forgotten).
/// </summary>
public sealed class ApiKeyOptions
{
    /// <summary>The tenant this key belongs to (<c>[A-Za-z0-9_]</c>, 1–64 characters).</summary>
    public string? Tenant { get; set; }

    /// <summary>SHA-256 of the key's UTF-8 bytes, as 64 hex digits (e.g. <c>printf %s "$KEY" | sha256sum</c>).</summary>
    public string? KeySha256 { get; set; }

    /// <summary>The key itself (at least 16 characters); prefer <see cref="KeySha256"/>.</summary>
    public string? Key { get; set; }
}

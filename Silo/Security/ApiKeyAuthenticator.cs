using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Silo.Security;

/// <summary>
/// Checks <c>Authorization: Bearer &lt;key&gt;</c> against the configured keys. Only SHA-256 hashes are
/// kept; a presented key is hashed and compared with every configured hash in constant time, so the
/// time taken says nothing about which key (or how much of one) matched.
/// </summary>
internal sealed class ApiKeyAuthenticator
{
    private readonly (string Tenant, byte[] Hash)[] _keys;
    private readonly byte[][] _operatorKeys;

    public ApiKeyAuthenticator(IOptions<ShardsSiloOptions> options)
    {
        _keys = options.Value.ApiKeys
            .Select(k => (k.Tenant!, string.IsNullOrEmpty(k.KeySha256) ? Hash(k.Key!) : Convert.FromHexString(k.KeySha256)))
            .ToArray();
        _operatorKeys = options.Value.OperatorKeys
            .Select(k => string.IsNullOrEmpty(k.KeySha256) ? Hash(k.Key!) : Convert.FromHexString(k.KeySha256))
            .ToArray();
    }

    /// <summary>True when any tenant or operator key is configured: the operator routes then need an operator key.</summary>
    public bool OperatorKeyRequired => _keys.Length > 0 || _operatorKeys.Length > 0;

    /// <summary>
    /// Lets an operator route (<c>/metrics</c>, <c>/dashboard</c>) through: always when no key is configured (the silo
    /// then listens on loopback only), else only with an operator key.
    /// </summary>
    /// <exception cref="ShardException"><c>UNAUTHENTICATED</c> when no key or an unknown key is presented, <c>FORBIDDEN</c> for a tenant's key.</exception>
    public void AuthorizeOperator(string? authorizationHeader)
    {
        if (!OperatorKeyRequired)
        {
            return;
        }

        var presented = Presented(authorizationHeader);
        var isOperator = false;
        foreach (var hash in _operatorKeys)
        {
            // No early exit: every configured key is compared.
            isOperator |= CryptographicOperations.FixedTimeEquals(presented, hash);
        }

        if (isOperator)
        {
            return;
        }

        var isTenant = false;
        foreach (var (_, hash) in _keys)
        {
            isTenant |= CryptographicOperations.FixedTimeEquals(presented, hash);
        }

        throw isTenant
            ? new ShardException(ShardErrorCode.Forbidden, "This route needs an operator key (Shards:OperatorKeys); a tenant's key does not open it.")
            : new ShardException(ShardErrorCode.Unauthenticated, "Unknown API key: this route needs an operator key (Shards:OperatorKeys).");
    }

    /// <summary>True when keys are configured and every request must present one.</summary>
    public bool Enabled => _keys.Length > 0;

    /// <summary>
    /// Throws <c>UNAUTHENTICATED</c> when the header is missing, malformed or names no configured key, and
    /// <c>FORBIDDEN</c> when the key belongs to another tenant. Does nothing when no keys are configured.
    /// </summary>
    public void Authorize(string? authorizationHeader, string tenant)
    {
        if (!Enabled)
        {
            return;
        }

        var tenants = Authenticate(authorizationHeader);
        foreach (var t in tenants)
        {
            if (string.Equals(t, tenant, StringComparison.Ordinal))
            {
                return;
            }
        }

        throw new ShardException(ShardErrorCode.Forbidden, "The API key does not belong to this tenant.");
    }

    /// <summary>The tenants the presented key belongs to (one, unless a key is configured for several).</summary>
    /// <exception cref="ShardException">
    /// <c>UNAUTHENTICATED</c> when no configured key matches; <c>FORBIDDEN</c> for an operator key (it opens no tenant's data).
    /// </exception>
    public IReadOnlyList<string> Authenticate(string? authorizationHeader)
    {
        var presented = Presented(authorizationHeader);
        List<string>? tenants = null;
        foreach (var (tenant, hash) in _keys)
        {
            // No early exit: every configured key is compared.
            if (CryptographicOperations.FixedTimeEquals(presented, hash))
            {
                (tenants ??= []).Add(tenant);
            }
        }

        if (tenants is not null)
        {
            return tenants;
        }

        var isOperator = false;
        foreach (var hash in _operatorKeys)
        {
            isOperator |= CryptographicOperations.FixedTimeEquals(presented, hash);
        }

        throw isOperator
            ? new ShardException(ShardErrorCode.Forbidden, "An operator key opens no tenant's data; send the tenant's key.")
            : new ShardException(ShardErrorCode.Unauthenticated, "Unknown API key.");
    }

    /// <summary>The SHA-256 of the bearer key presented.</summary>
    /// <exception cref="ShardException"><c>UNAUTHENTICATED</c> when the header is missing or not <c>Bearer &lt;key&gt;</c>.</exception>
    private static byte[] Presented(string? authorizationHeader)
    {
        const string scheme = "Bearer ";
        if (string.IsNullOrEmpty(authorizationHeader)
            || !authorizationHeader.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            || authorizationHeader.Length == scheme.Length)
        {
            throw new ShardException(ShardErrorCode.Unauthenticated, "Missing API key: send Authorization: Bearer <key>.");
        }

        return Hash(authorizationHeader.AsSpan(scheme.Length).Trim());
    }

    /// <summary>SHA-256 of the key's UTF-8 bytes.</summary>
    internal static byte[] Hash(ReadOnlySpan<char> key)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(key)];
        Encoding.UTF8.GetBytes(key, bytes);
        try
        {
            return SHA256.HashData(bytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }
}

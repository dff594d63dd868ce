using System.Security.Cryptography;
using System.Text;

namespace OrleansShards.Tests.Silo;

/// <summary>The default silo: no API keys, 500 ms statement timeout, 64 KB body limit.</summary>
public sealed class SiloFixture : SiloFactory
{
    public const int MaxBodyBytes = 64 * 1024;

    public SiloFixture()
    {
        Settings["Shards:MaxRequestBodyBytes"] = MaxBodyBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}

[CollectionDefinition(Name)]
public sealed class SiloCollection : ICollectionFixture<SiloFixture>
{
    public const string Name = "silo";
}

/// <summary>A silo with API keys: tenant alpha's key configured as plain text, tenant beta's as its SHA-256.</summary>
public sealed class SecuredSiloFixture : SiloFactory
{
    public const string AlphaKey = "alpha-key-0123456789abcdef";
    public const string BetaKey = "beta-key-0123456789abcdef";
    public const string OperatorKey = "operator-key-0123456789abcdef";

    public SecuredSiloFixture()
    {
        Settings["Shards:OperatorKeys:0:Key"] = OperatorKey;
        Settings["Shards:ApiKeys:0:Tenant"] = "alpha";
        Settings["Shards:ApiKeys:0:Key"] = AlphaKey;
        Settings["Shards:ApiKeys:1:Tenant"] = "beta";
        Settings["Shards:ApiKeys:1:KeySha256"] = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(BetaKey))).ToLowerInvariant();
    }
}

/// <summary>A silo with tiny limits: 256 KB shards and one request at a time.</summary>
public sealed class LimitedSiloFixture : SiloFactory
{
    public const long MaxShardBytes = 256 * 1024;

    public LimitedSiloFixture()
    {
        Settings["Shards:MaxShardSizeBytes"] = MaxShardBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Settings["Shards:MaxConcurrentRequests"] = "1";
    }
}

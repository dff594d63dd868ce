using Orleans;

namespace OrleansShards;

/// <summary>Operation ids: 1–64 characters of <c>[A-Za-z0-9_-]</c>; a caller may choose one to watch an operation it starts.</summary>
public static class OperationIds
{
    /// <summary>Longest id.</summary>
    public const int MaxLength = 64;

    /// <summary>A new random id (32 hex digits).</summary>
    public static string New() => Guid.NewGuid().ToString("N");

    /// <summary>True when <paramref name="id"/> is a valid operation id.</summary>
    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary><paramref name="id"/> when valid, a new id when null; <c>INVALID_ARGUMENT</c> otherwise.</summary>
    public static string ValidOrNew(string? id) =>
        id is null ? New()
        : IsValid(id) ? id
        : throw new ShardException(ShardErrorCode.InvalidArgument, $"operationId must be 1-{MaxLength} characters of [A-Za-z0-9_-].");

    /// <summary>
    /// The key of the record (<see cref="IOperationGrain"/>) of operation <paramref name="id"/> of <paramref name="tenant"/>
    /// (<c>tenant/id</c>), or of an operator's operation (a drain, a cluster rebalance) when <paramref name="tenant"/> is
    /// null (<c>/id</c>). Ids are scoped by tenant: two tenants may use the same id, and one tenant can neither see nor
    /// take another's. <c>INVALID_ARGUMENT</c> for a malformed tenant or id.
    /// </summary>
    public static string GrainKey(string? tenant, string id)
    {
        if (tenant is not null)
        {
            ShardName.Validate(tenant, "tenant");
        }

        return (tenant ?? string.Empty) + "/" + ValidOrNew(id ?? throw new ShardException(ShardErrorCode.InvalidArgument, "operationId is required."));
    }

    /// <summary>The tenant (null: the operator's) and the id of a record's grain key (<see cref="GrainKey"/>).</summary>
    public static (string? Tenant, string Id) ParseGrainKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"'{key}' is not an operation record's key (tenant/id or /id).");
        }

        return (slash == 0 ? null : key[..slash], key[(slash + 1)..]);
    }

    /// <summary>
    /// The record of operation <paramref name="operationId"/> of <paramref name="tenant"/> (null: an operator's operation):
    /// <c>grains.GetGrain&lt;IOperationGrain&gt;(OperationIds.GrainKey(tenant, id))</c>.
    /// </summary>
    public static IOperationGrain GetOperation(this IGrainFactory grains, string? tenant, string operationId)
    {
        ArgumentNullException.ThrowIfNull(grains);
        return grains.GetGrain<IOperationGrain>(GrainKey(tenant, operationId));
    }
}

using System.Diagnostics.CodeAnalysis;

namespace OrleansShards;

/// <summary>
/// Tenant and table names (<c>[A-Za-z0-9_]</c>, 1–64 characters) and the shard key
/// <c>tenant:table</c> built from them. Nothing becomes a path without passing here.
/// </summary>
public static class ShardName
{
    /// <summary>Longest accepted name.</summary>
    public const int MaxLength = 64;

    /// <summary>True when <paramref name="name"/> is 1–64 characters of <c>[A-Za-z0-9_]</c>.</summary>
    public static bool IsValid([NotNullWhen(true)] string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The marker of a partition's name: a sharded table <c>t</c> keeps its rows in <c>t__s0</c>, <c>t__s1</c>, ….</summary>
    public const string PartitionSeparator = "__s";

    /// <summary>
    /// True when <paramref name="table"/> has the form of a partition of a sharded table (<c>{table}__s{n}</c>).
    /// Such names are reserved: a tenant cannot create or address them except through the sharding routes.
    /// </summary>
    public static bool IsPartitionName(string table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var at = table.LastIndexOf(PartitionSeparator, StringComparison.Ordinal);
        if (at <= 0 || at + PartitionSeparator.Length == table.Length)
        {
            return false;
        }

        foreach (var c in table.AsSpan(at + PartitionSeparator.Length))
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Throws <c>INVALID_ARGUMENT</c> when <paramref name="table"/> is a partition's name (<see cref="IsPartitionName"/>).</summary>
    public static void RejectPartitionName(string table)
    {
        if (IsPartitionName(table))
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"Table names of the form <table>{PartitionSeparator}<n> are reserved for the partitions of sharded tables.");
        }
    }

    /// <summary>Throws <c>INVALID_ARGUMENT</c> unless the name is valid.</summary>
    public static void Validate([NotNull] string? name, string what)
    {
        if (!IsValid(name))
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"The {what} name must be 1-{MaxLength} characters of [A-Za-z0-9_].");
        }
    }

    /// <summary>Builds the key <c>tenant:table</c> after validating both names.</summary>
    public static string Format(string tenant, string table)
    {
        Validate(tenant, "tenant");
        Validate(table, "table");
        return tenant + ":" + table;
    }

    /// <summary>Splits and validates a key <c>tenant:table</c>.</summary>
    /// <exception cref="ShardException"><c>INVALID_ARGUMENT</c> when malformed.</exception>
    public static (string Tenant, string Table) Parse(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, "A shard key has the form tenant:table.");
        }

        var tenant = key[..colon];
        var table = key[(colon + 1)..];
        Validate(tenant, "tenant");
        Validate(table, "table");
        return (tenant, table);
    }
}

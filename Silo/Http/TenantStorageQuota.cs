using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Hosting;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Silo.Http;

/// <summary>
/// The storage quota of a tenant across its tables (<see cref="TenantLimitOptions.MaxTenantStorageBytes"/>): the bytes
/// of every file under <c>{DataDirectory}/{tenant}</c>, measured at most once per
/// <see cref="TenantLimitOptions.StorageUsageRefresh"/>. A write at or over the quota answers <c>CAPACITY_EXCEEDED</c>
/// unless every statement frees space (<c>DELETE</c>, <c>DROP</c>).
/// </summary>
internal sealed class TenantStorageQuota(
    IOptions<TenantLimitOptions> limits,
    IOptions<ShardsSiloOptions> silo,
    [FromKeyedServices(ShardClock.ServiceKey)] TimeProvider clock)
{
    private readonly long _quota = limits.Value.MaxTenantStorageBytes;
    private readonly TimeSpan _refresh = limits.Value.StorageUsageRefresh;
    private readonly string _root = ShardsSiloHostingExtensions.GetDataDirectory(silo.Value);
    private readonly ConcurrentDictionary<string, Usage> _usage = new(StringComparer.Ordinal);

    /// <summary>The tenant's bytes on disk as last measured (measured now when the figure is older than the refresh period).</summary>
    public long UsedBytes(string tenant)
    {
        var now = clock.GetUtcNow();
        if (_usage.TryGetValue(tenant, out var usage) && now - usage.MeasuredAt < _refresh)
        {
            return usage.Bytes;
        }

        var bytes = Measure(Path.Combine(_root, tenant));
        _usage[tenant] = new Usage(bytes, now);
        return bytes;
    }

    /// <summary>Throws <c>CAPACITY_EXCEEDED</c> when <paramref name="tenant"/> is at or over its quota and a statement may grow it.</summary>
    public void EnsureWritable(string tenant, IEnumerable<string?> statements)
    {
        if (_quota <= 0 || statements.All(FreesSpace))
        {
            return;
        }

        var used = UsedBytes(tenant);
        if (used >= _quota)
        {
            throw new ShardException(ShardErrorCode.CapacityExceeded,
                $"Tenant {tenant} stores {used} bytes, at or over its quota of {_quota} bytes (Shards:Limits:MaxTenantStorageBytes); " +
                "writes are refused until DELETE or DROP frees space; reads still work.");
        }
    }

    /// <summary>True for statements that can only shrink storage: <c>DELETE</c> and <c>DROP</c> (leading comments and spaces ignored).</summary>
    internal static bool FreesSpace(string? sql)
    {
        var text = (sql ?? string.Empty).AsSpan().TrimStart();
        return text.StartsWith("DELETE", StringComparison.OrdinalIgnoreCase) || text.StartsWith("DROP", StringComparison.OrdinalIgnoreCase);
    }

    private static long Measure(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return 0;
        }

        long total = 0;
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }))
        {
            try
            {
                total += file.Length;
            }
            catch (FileNotFoundException)
            {
                // Removed while counting (a checkpointed WAL, a finished snapshot).
            }
        }

        return total;
    }

    private readonly record struct Usage(long Bytes, DateTimeOffset MeasuredAt);
}

using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Hosting;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Silo.Http;

/// <summary>
/// The storage quota of a tenant across its tables (<see cref="TenantLimitOptions.MaxTenantStorageBytes"/>), measured at
/// most once per <see cref="TenantLimitOptions.StorageUsageRefresh"/>. Embedded: the bytes of every file under
/// <c>{DataDirectory}/{tenant}</c>. In a cluster: the tenant's shards are read from the ownership map and each silo
/// holding primaries reports their bytes (<see cref="ISiloAgent.TenantBytesAsync"/>), so the quota is the tenant's
/// across the cluster whichever silo a write arrives at (replica copies are not counted); a silo that does not answer
/// within <see cref="AgentTimeout"/> counts as its last answer (0 before any), and when the map cannot be read the last
/// figure is kept for another period (the quota fails open rather than refusing writes). A write at or over the quota answers
/// <c>CAPACITY_EXCEEDED</c> unless every statement frees space (<c>DELETE</c>, <c>DROP</c>).
/// </summary>
internal sealed class TenantStorageQuota(
    IOptions<TenantLimitOptions> limits,
    IOptions<ShardsSiloOptions> silo,
    [FromKeyedServices(ShardClock.ServiceKey)] TimeProvider clock,
    IShardOwnership ownership,
    IGrainFactory grains)
{
    /// <summary>How long the measure of a cluster tenant waits for one silo's answer.</summary>
    public static readonly TimeSpan AgentTimeout = TimeSpan.FromSeconds(2);

    private readonly long _quota = limits.Value.MaxTenantStorageBytes;
    private readonly TimeSpan _refresh = limits.Value.StorageUsageRefresh;
    private readonly string _root = ShardsSiloHostingExtensions.GetDataDirectory(silo.Value);
    private readonly ConcurrentDictionary<string, Usage> _usage = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Tenant, string Silo), long> _lastAnswers = new();
    private readonly ConcurrentDictionary<string, Lazy<Task<long>>> _measuring = new(StringComparer.Ordinal);

    /// <summary>The tenant's bytes as last measured (measured now when the figure is older than the refresh period).</summary>
    public async ValueTask<long> UsedBytesAsync(string tenant)
    {
        var now = clock.GetUtcNow();
        if (_usage.TryGetValue(tenant, out var usage) && now - usage.MeasuredAt < _refresh)
        {
            return usage.Bytes;
        }

        if (!ownership.IsDistributed)
        {
            var bytes = Measure(Path.Combine(_root, tenant));
            _usage[tenant] = new Usage(bytes, now);
            return bytes;
        }

        // One measure per tenant at a time: concurrent writes await the same one.
        var measuring = _measuring.GetOrAdd(tenant, t => new Lazy<Task<long>>(() => MeasureClusterAsync(t)));
        try
        {
            var bytes = await measuring.Value.ConfigureAwait(false);
            _usage[tenant] = new Usage(bytes, now);
            return bytes;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The map cannot be read (Redis down, a slow scan): the quota fails open on the last figure (0 before any)
            // for another refresh period rather than refusing every write of the tenant.
            var last = usage.Bytes;
            _usage[tenant] = new Usage(last, now);
            return last;
        }
        finally
        {
            _measuring.TryRemove(new KeyValuePair<string, Lazy<Task<long>>>(tenant, measuring));
        }
    }

    /// <summary>True when the tenant stores at least its quota (a COMMIT then may not grow its storage).</summary>
    public async ValueTask<bool> IsOverAsync(string tenant) => _quota > 0 && await UsedBytesAsync(tenant).ConfigureAwait(false) >= _quota;

    /// <summary>
    /// Throws <c>CAPACITY_EXCEEDED</c> when <paramref name="tenant"/> is at or over its quota and a statement may grow it.
    /// Returns true when the tenant is at or over its quota and the statements were let through because each frees space
    /// (a single DELETE or DROP): the write must then not grow the shard after all (a trigger that inserts), which the
    /// shard checks (<c>NoGrowth</c>).
    /// </summary>
    public async ValueTask<bool> EnsureWritableAsync(string tenant, IEnumerable<string?> statements)
    {
        if (_quota <= 0)
        {
            return false;
        }

        var used = await UsedBytesAsync(tenant).ConfigureAwait(false);
        if (used < _quota)
        {
            return false;
        }

        if (statements.All(FreesSpace))
        {
            return true;
        }

        throw new ShardException(ShardErrorCode.CapacityExceeded,
            $"Tenant {tenant} stores {used} bytes, at or over its quota of {_quota} bytes (Shards:Limits:MaxTenantStorageBytes); " +
            "writes that may grow it are refused (DELETE and DROP are served, but the point-in-time log holds what they free until its retention passes); reads still work.");
    }

    /// <summary>The tenant's primaries' bytes, asked of each silo holding some (in parallel).</summary>
    private async Task<long> MeasureClusterAsync(string tenant)
    {
        var entries = await ownership.ListTenantAsync(tenant).ConfigureAwait(false);
        var bySilo = entries
            .GroupBy(e => e.Owner.Primary, StringComparer.Ordinal)
            .Select(g => (Silo: g.Key, Tables: (IReadOnlyList<string>)g.Select(e => ShardName.Parse(e.Shard).Table).ToList()));
        var answers = await Task.WhenAll(bySilo.Select(async s =>
        {
            try
            {
                var bytes = await grains.GetGrain<ISiloAgent>(s.Silo).TenantBytesAsync(tenant, s.Tables).WaitAsync(AgentTimeout).ConfigureAwait(false);
                _lastAnswers[(tenant, s.Silo)] = bytes;
                return bytes;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                return _lastAnswers.GetValueOrDefault((tenant, s.Silo));
            }
        })).ConfigureAwait(false);
        return answers.Sum();
    }

    /// <summary>
    /// True for a statement that can only shrink storage: one <c>DELETE</c> or <c>DROP</c> (leading spaces ignored). Text
    /// holding a second statement (any ';' before its end) does not count, whatever it starts with: "DROP TABLE IF EXISTS
    /// z; CREATE TABLE big AS …" would pass the quota otherwise. A ';' inside a literal makes a DELETE count as a write
    /// that may grow: refused only while the tenant is over its quota.
    /// </summary>
    internal static bool FreesSpace(string? sql)
    {
        var text = (sql ?? string.Empty).AsSpan().Trim().TrimEnd(';').TrimEnd();
        return (text.StartsWith("DELETE", StringComparison.OrdinalIgnoreCase) || text.StartsWith("DROP", StringComparison.OrdinalIgnoreCase))
            && !text.Contains(';');
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

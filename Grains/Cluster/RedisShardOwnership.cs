using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace OrleansShards.Grains.Cluster;

/// <summary>
/// The ownership map in Redis: hash <c>{ServiceId}/shards</c> (shard → <c>primary|epoch|replica,…</c>) and hash
/// <c>{ServiceId}/primaries</c> (silo name → number of primaries, for placing new shards); hash
/// <c>{ServiceId}/dropped</c> (shard → the epoch it had when its files were deleted: a tombstone, removed when the
/// shard is created again, which then continues above that epoch). Every change is one Lua
/// script, so it is a compare-and-set: two silos can never both become a shard's primary at the same epoch.
/// It runs on the silo's shared <see cref="IConnectionMultiplexer"/> (resolved on first use, off the caller's thread).
/// When Redis cannot be reached, calls fail with <c>UNAVAILABLE</c>: activations already open keep serving, no
/// shard is placed or acquired. While the connection is known to be down a call fails at once; a Redis that accepts
/// but does not answer costs each call <see cref="CommandTimeout"/>.
/// </summary>
internal sealed class RedisShardOwnership : IShardOwnership
{
    /// <summary>How long one call waits for Redis' answer before it fails with <c>UNAVAILABLE</c>.</summary>
    internal static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(2);

    // Entries are "primary|epoch" or "primary|epoch|replica,replica"; every script parses them the same way.
    private const string Parse = """
        local function parse(v)
          local p, e, r = string.match(v, '^([^|]*)|(%d+)|?(.*)$')
          return p, tonumber(e), r
        end
        local function entry(p, e, r)
          if r == nil or r == '' then return p .. '|' .. e end
          return p .. '|' .. e .. '|' .. r
        end
        """;

    // KEYS: shards hash, counts hash, dropped hash. ARGV: shard, silo, minEpoch. A shard created again continues above
    // the epoch its dropped predecessor reached (copies of the old one left on silos are then strictly older).
    private const string ClaimScript = Parse + "\n" + """
        local v = redis.call('HGET', KEYS[1], ARGV[1])
        local e = 0
        local r = ''
        if v then
          local p
          p, e, r = parse(v)
          if p ~= ARGV[2] then return v end
        else
          redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
          local d = redis.call('HGET', KEYS[3], ARGV[1])
          if d then
            e = tonumber(d)
            redis.call('HDEL', KEYS[3], ARGV[1])
          end
        end
        local m = tonumber(ARGV[3])
        if m > e then e = m end
        local nv = entry(ARGV[2], e + 1, r)
        redis.call('HSET', KEYS[1], ARGV[1], nv)
        return nv
        """;

    // KEYS: shards hash, counts hash. ARGV: shard, from, to, epoch. The target leaves the replicas.
    private const string TransferScript = Parse + "\n" + """
        local v = redis.call('HGET', KEYS[1], ARGV[1])
        if not v then return false end
        local p, e, r = parse(v)
        if p ~= ARGV[2] or e ~= tonumber(ARGV[4]) then return false end
        local kept = {}
        for x in string.gmatch(r, '[^,]+') do if x ~= ARGV[3] then table.insert(kept, x) end end
        local nv = entry(ARGV[3], e + 1, table.concat(kept, ','))
        redis.call('HSET', KEYS[1], ARGV[1], nv)
        redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
        redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
        return nv
        """;

    // KEYS: shards hash. ARGV: shard, primary, epoch, replicas.
    private const string SetReplicasScript = Parse + "\n" + """
        local v = redis.call('HGET', KEYS[1], ARGV[1])
        if not v then return false end
        local p, e, r = parse(v)
        if p ~= ARGV[2] or e ~= tonumber(ARGV[3]) then return false end
        local nv = entry(p, e, ARGV[4])
        redis.call('HSET', KEYS[1], ARGV[1], nv)
        return nv
        """;

    // KEYS: shards hash, counts hash. ARGV: shard, from, epoch, to, replicas.
    private const string FailoverScript = Parse + "\n" + """
        local v = redis.call('HGET', KEYS[1], ARGV[1])
        if not v then return false end
        local p, e, r = parse(v)
        if p ~= ARGV[2] or e ~= tonumber(ARGV[3]) then return false end
        local nv = entry(ARGV[4], e + 1, ARGV[5])
        redis.call('HSET', KEYS[1], ARGV[1], nv)
        redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
        redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
        return nv
        """;

    // KEYS: shards hash, counts hash, dropped hash. ARGV: shard, silo, epoch. The entry leaves a tombstone: its epoch.
    private const string ReleaseScript = Parse + "\n" + """
        local v = redis.call('HGET', KEYS[1], ARGV[1])
        if not v then return 0 end
        local p, e, r = parse(v)
        if p ~= ARGV[2] or e ~= tonumber(ARGV[3]) then return 0 end
        redis.call('HDEL', KEYS[1], ARGV[1])
        redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
        redis.call('HSET', KEYS[3], ARGV[1], e)
        return 1
        """;

    private readonly ShardClusterOptions _options;
    private readonly RedisKey _shards;
    private readonly RedisKey _counts;
    private readonly RedisKey _draining;
    private readonly RedisKey _dropped;
    private readonly Lazy<Task<IConnectionMultiplexer>> _redis;

    public RedisShardOwnership(IOptions<ShardClusterOptions> options, IServiceProvider services)
    {
        _options = options.Value;
        _redis = new(() => Task.Run(services.GetRequiredService<IConnectionMultiplexer>));
        _shards = $"{_options.ServiceId}/shards";
        _counts = $"{_options.ServiceId}/primaries";
        _draining = $"{_options.ServiceId}/draining";
        _dropped = $"{_options.ServiceId}/dropped";
    }

    public bool IsDistributed => true;

    public async Task<ShardOwner?> GetAsync(string shard, CancellationToken cancellationToken = default)
    {
        var value = await RunAsync(db => db.HashGetAsync(_shards, shard)).ConfigureAwait(false);
        return value.IsNull ? null : ShardOwner.Decode(value!);
    }

    public async Task<ShardOwner> ClaimAsync(string shard, string silo, long minEpoch, CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(db => db.ScriptEvaluateAsync(ClaimScript, [_shards, _counts, _dropped], [shard, silo, minEpoch])).ConfigureAwait(false);
        return ShardOwner.Decode((string)result!);
    }

    public async Task<ShardOwner?> TransferAsync(string shard, string from, string to, long epoch, CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(db => db.ScriptEvaluateAsync(TransferScript, [_shards, _counts], [shard, from, to, epoch])).ConfigureAwait(false);
        return result.IsNull ? null : ShardOwner.Decode((string)result!);
    }

    public async Task<ShardOwner?> SetReplicasAsync(string shard, string primary, long epoch, IReadOnlyList<string> replicas, CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(db => db.ScriptEvaluateAsync(SetReplicasScript, [_shards], [shard, primary, epoch, string.Join(',', replicas)])).ConfigureAwait(false);
        return result.IsNull ? null : ShardOwner.Decode((string)result!);
    }

    public async Task<ShardOwner?> FailoverAsync(string shard, string from, long epoch, string to, IReadOnlyList<string> replicas, CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(db => db.ScriptEvaluateAsync(FailoverScript, [_shards, _counts], [shard, from, epoch, to, string.Join(',', replicas)])).ConfigureAwait(false);
        return result.IsNull ? null : ShardOwner.Decode((string)result!);
    }

    public Task ReleaseAsync(string shard, string silo, long epoch, CancellationToken cancellationToken = default) =>
        RunAsync(db => db.ScriptEvaluateAsync(ReleaseScript, [_shards, _counts, _dropped], [shard, silo, epoch]));

    public async Task<IReadOnlyList<(string Shard, ShardOwner Owner)>> ListTenantAsync(string tenant, CancellationToken cancellationToken = default)
    {
        // Tenant names are letters, digits and '_': no glob characters to escape.
        ShardName.Validate(tenant, "tenant");
        return await RunAsync(async db =>
        {
            var entries = new List<(string, ShardOwner)>();
            await foreach (var entry in db.HashScanAsync(_shards, tenant + ":*", pageSize: 1000).ConfigureAwait(false))
            {
                entries.Add(((string)entry.Name!, ShardOwner.Decode(entry.Value!)));
            }

            return (IReadOnlyList<(string, ShardOwner)>)entries;
        }).ConfigureAwait(false);
    }

    public async Task<IReadOnlyDictionary<string, long>> DroppedAsync(CancellationToken cancellationToken = default)
    {
        var entries = await RunAsync(db => db.HashGetAllAsync(_dropped)).ConfigureAwait(false);
        return entries.ToDictionary(e => (string)e.Name!, e => (long)e.Value, StringComparer.Ordinal);
    }

    public Task SetDrainingAsync(string silo, bool draining, CancellationToken cancellationToken = default) =>
        RunAsync(db => draining ? db.SetAddAsync(_draining, silo) : db.SetRemoveAsync(_draining, silo));

    public async Task<IReadOnlyCollection<string>> DrainingAsync(CancellationToken cancellationToken = default)
    {
        var members = await RunAsync(db => db.SetMembersAsync(_draining)).ConfigureAwait(false);
        return members.Select(m => (string)m!).ToList();
    }

    public async Task<IReadOnlyDictionary<string, long>> PrimaryCountsAsync(CancellationToken cancellationToken = default)
    {
        var entries = await RunAsync(db => db.HashGetAllAsync(_counts)).ConfigureAwait(false);
        return entries.ToDictionary(e => (string)e.Name!, e => (long)e.Value, StringComparer.Ordinal);
    }

    public async Task<IReadOnlyList<(string Shard, ShardOwner Owner)>> ListAsync(string? silo = null, CancellationToken cancellationToken = default)
    {
        var entries = await RunAsync(db => db.HashGetAllAsync(_shards)).ConfigureAwait(false);
        return entries
            .Select(e => ((string)e.Name!, ShardOwner.Decode(e.Value!)))
            .Where(e => silo is null || e.Item2.Primary == silo)
            .ToList();
    }

    private async Task<T> RunAsync<T>(Func<IDatabase, Task<T>> command)
    {
        try
        {
            var redis = await _redis.Value.WaitAsync(CommandTimeout).ConfigureAwait(false);
            if (!redis.IsConnected)
            {
                // Known down (refused or closed; it reconnects in the background): answer now rather than after the
                // command waited its timeout in the backlog — a placement makes two such calls.
                throw Unreachable("not connected");
            }

            return await command(redis.GetDatabase()).WaitAsync(CommandTimeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException
            || (ex is InvalidOperationException && ex.Source is "System.IO.Pipelines" or "Pipelines.Sockets.Unofficial" or "StackExchange.Redis"))
        {
            // No inner exception: this one crosses silos to the caller, and Orleans has no codec for
            // StackExchange.Redis' exceptions (serializing one failed the call with a 500 instead of UNAVAILABLE).
            // The first part of the message says what failed; the rest is SE.Redis' connection diagnostics.
            throw Unreachable($"{ex.GetType().Name}: {ex.Message.Split(" - ", 2)[0]}");
        }
    }

    private static ShardException Unreachable(string reason) =>
        new(ShardErrorCode.Unavailable, $"The cluster's ownership map (Redis) cannot be reached ({reason}); retry.");
}

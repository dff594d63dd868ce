using System.Globalization;
using System.Text;
using StackExchange.Redis;

namespace OrleansShards.Grains.Caching;

/// <summary>
/// The Redis cache store of the shards' sequence-stamped entries (applications use <c>IDistributedCache</c>). An entry is one string: an ASCII header
/// <c>v{seq},{storedAtMs};</c> (<c>x</c> for a tombstone) followed by the encoded rows, so a read is
/// one GET (MGET for a batch). Compare-and-set and tombstoning run as Lua scripts over a whole batch,
/// atomically per key. Every operation is bounded by <see cref="RedisCacheOptions.OperationTimeout"/>;
/// a failure opens a circuit for <see cref="RedisCacheOptions.BreakDuration"/> during which every call
/// fails fast with <see cref="CacheUnavailableException"/> (the shard then serves reads). The store uses the
/// silo's shared <see cref="IConnectionMultiplexer"/> (resolved off the caller's thread on first use, so a grain never
/// waits for a connect), or a connection of its own when created from options alone.
/// </summary>
public sealed class RedisCacheStore : ICacheStore, IDisposable
{
    private const string SetScript = """
        local n = 0
        for i = 1, #KEYS do
          local seq = tonumber(ARGV[i * 3 - 2])
          local cur = redis.call('GET', KEYS[i])
          local ok = true
          if cur then
            local s = string.match(cur, '^[vx](%d+),')
            if s and tonumber(s) > seq then ok = false end
          end
          if ok then
            redis.call('SET', KEYS[i], ARGV[i * 3 - 1], 'PX', ARGV[i * 3])
            n = n + 1
          end
        end
        return n
        """;

    private const string InvalidateScript = """
        local seq = tonumber(ARGV[1])
        for i = 1, #KEYS do
          local cur = redis.call('GET', KEYS[i])
          local keep = false
          if cur then
            local s = string.match(cur, '^[vx](%d+),')
            if s and tonumber(s) >= seq then keep = true end
          end
          if not keep then redis.call('SET', KEYS[i], ARGV[2], 'PX', ARGV[3]) end
        end
        return #KEYS
        """;

    // The flush of one SCAN page: deletes each key unless its header (read alone, not the rows) names a sequence at or
    // above the flush's. A key that is not an entry (no header, another type) is deleted, as before.
    private const string RemoveOlderScript = """
        local seq = tonumber(ARGV[1])
        local n = 0
        for i = 1, #KEYS do
          local head = redis.pcall('GETRANGE', KEYS[i], 0, 47)
          local keep = false
          if type(head) == 'string' then
            local s = string.match(head, '^[vx](%d+),')
            if s and tonumber(s) >= seq then keep = true end
          end
          if not keep then n = n + redis.call('DEL', KEYS[i]) end
        end
        return n
        """;

    // GET and, for a sliding entry (header r{slidingMs},{absoluteMs};), PEXPIRE in one round trip: two dependent round
    // trips (with a thread-pool hop between) under one OperationTimeout timed out on a loaded machine, and let a value
    // replaced in between get the old value's expiry.
    private const string GetRawScript = """
        local v = redis.call('GET', KEYS[1])
        if not v then return false end
        if ARGV[1] == '1' then
          local s, a = string.match(v, '^r(%d+),(%d+);')
          if s and tonumber(s) > 0 then
            local ttl = math.min(tonumber(s), tonumber(a) - tonumber(ARGV[2]))
            if ttl < 1 then ttl = 1 end
            redis.call('PEXPIRE', KEYS[1], math.floor(ttl))
          end
        end
        return v
        """;

    private readonly RedisCacheOptions _options;
    private readonly string _prefix;
    private readonly TimeProvider _time;
    private readonly Lazy<Task<IConnectionMultiplexer>> _connection;
    private readonly bool _ownsConnection;
    private long _openUntil;

    /// <summary>A store on a connection of its own, made from <see cref="RedisCacheOptions.Configuration"/> and closed by <see cref="Dispose"/>.</summary>
    public RedisCacheStore(RedisCacheOptions options, TimeProvider time)
        : this(options, time, connection: null)
    {
    }

    /// <summary>A store on a shared connection (not closed by <see cref="Dispose"/>), asked for on first use.</summary>
    public RedisCacheStore(Func<IConnectionMultiplexer> connection, RedisCacheOptions options, TimeProvider time)
        : this(options, time, connection ?? throw new ArgumentNullException(nameof(connection)))
    {
    }

    private RedisCacheStore(RedisCacheOptions options, TimeProvider time, Func<IConnectionMultiplexer>? connection)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        _options = options;
        _prefix = options.KeyPrefix ?? string.Empty;
        _time = time;
        _ownsConnection = connection is null;
        _connection = new Lazy<Task<IConnectionMultiplexer>>(connection is null ? ConnectAsync : () => Task.Run(connection));
    }

    public string Kind => "redis";

    /// <summary>True while the circuit is open (operations fail fast).</summary>
    public bool IsOpen => Environment.TickCount64 < Volatile.Read(ref _openUntil);

    public Task<CacheEntry?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return RunAsync(async db =>
        {
            var redisKeys = new RedisKey[keys.Count];
            for (var i = 0; i < redisKeys.Length; i++)
            {
                redisKeys[i] = _prefix + keys[i];
            }

            var values = redisKeys.Length == 1
                ? [await db.StringGetAsync(redisKeys[0]).ConfigureAwait(false)]
                : await db.StringGetAsync(redisKeys).ConfigureAwait(false);
            var result = new CacheEntry?[values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                result[i] = Decode(values[i]);
            }

            return result;
        });
    }

    public Task<int> SetManyAsync(IReadOnlyList<CacheWrite> writes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writes);
        if (writes.Count == 0)
        {
            return Task.FromResult(0);
        }

        return RunAsync(async db =>
        {
            var keys = new RedisKey[writes.Count];
            var args = new RedisValue[writes.Count * 3];
            for (var i = 0; i < writes.Count; i++)
            {
                var w = writes[i];
                keys[i] = _prefix + w.Key;
                args[i * 3] = w.Sequence;
                args[(i * 3) + 1] = Encode('v', w.Sequence, w.StoredAtUnixMs, w.Value);
                args[(i * 3) + 2] = Math.Max(1, (long)w.Lifetime.TotalMilliseconds);
            }

            var result = await db.ScriptEvaluateAsync(SetScript, keys, args).ConfigureAwait(false);
            return (int)result;
        });
    }

    public Task InvalidateManyAsync(IReadOnlyList<string> keys, long sequence, TimeSpan tombstoneLifetime, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return Task.CompletedTask;
        }

        return RunAsync(async db =>
        {
            var redisKeys = new RedisKey[keys.Count];
            for (var i = 0; i < redisKeys.Length; i++)
            {
                redisKeys[i] = _prefix + keys[i];
            }

            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            await db.ScriptEvaluateAsync(InvalidateScript, redisKeys,
                [sequence, Encode('x', sequence, now, []), Math.Max(1, (long)tombstoneLifetime.TotalMilliseconds)]).ConfigureAwait(false);
            return true;
        });
    }

    public async Task<long> RemoveByPrefixAsync(string prefix, long sequence, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        var connection = await GetConnectionAsync().ConfigureAwait(false);
        long removed = 0;
        foreach (var endpoint in connection.GetEndPoints())
        {
            var server = connection.GetServer(endpoint);
            if (server.IsReplica)
            {
                continue;
            }

            var batch = new List<RedisKey>(_options.ScanPageSize);
            foreach (var key in server.Keys(pattern: EscapeGlob(_prefix + prefix) + "*", pageSize: _options.ScanPageSize))
            {
                batch.Add(key);
                if (batch.Count == _options.ScanPageSize)
                {
                    removed += await DeleteAsync(batch).ConfigureAwait(false);
                    batch.Clear();
                }
            }

            removed += await DeleteAsync(batch).ConfigureAwait(false);
        }

        return removed;

        Task<long> DeleteAsync(List<RedisKey> keys) =>
            keys.Count == 0 ? Task.FromResult(0L) : RunAsync(async db => (long)await db.ScriptEvaluateAsync(RemoveOlderScript, keys.ToArray(), [sequence]).ConfigureAwait(false));
    }

    /// <summary>The raw database, for benchmarks comparing against a plain GET.</summary>
    internal async Task<IDatabase> GetDatabaseAsync() => (await GetConnectionAsync().ConfigureAwait(false)).GetDatabase();

    public void Dispose()
    {
        if (_ownsConnection && _connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully)
        {
            // Pending commands are abandoned: waiting for them is what made disposal take the sync timeout.
            _connection.Value.Result.Close(allowCommandsToComplete: false);
            _connection.Value.Result.Dispose();
        }
    }

    internal static byte[] Encode(char kind, long sequence, long storedAt, ReadOnlySpan<byte> value)
    {
        Span<byte> header = stackalloc byte[48];
        header[0] = (byte)kind;
        var length = 1;
        sequence.TryFormat(header[length..], out var written, provider: CultureInfo.InvariantCulture);
        length += written;
        header[length++] = (byte)',';
        storedAt.TryFormat(header[length..], out written, provider: CultureInfo.InvariantCulture);
        length += written;
        header[length++] = (byte)';';
        var result = new byte[length + value.Length];
        header[..length].CopyTo(result);
        value.CopyTo(result.AsSpan(length));
        return result;
    }

    internal static CacheEntry? Decode(RedisValue value)
    {
        if (value.IsNull)
        {
            return null;
        }

        byte[] bytes = value!;
        if (bytes.Length < 4 || (bytes[0] != (byte)'v' && bytes[0] != (byte)'x'))
        {
            return null;
        }

        var span = bytes.AsSpan(1);
        var comma = span.IndexOf((byte)',');
        var end = span.IndexOf((byte)';');
        if (comma < 0 || end < comma
            || !long.TryParse(span[..comma], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            || !long.TryParse(span[(comma + 1)..end], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var storedAt))
        {
            return null;
        }

        return new CacheEntry(span[(end + 1)..].ToArray(), sequence, storedAt, bytes[0] == (byte)'x');
    }

    private async Task<T> RunAsync<T>(Func<IDatabase, Task<T>> operation)
    {
        var now = Environment.TickCount64;
        if (now < Volatile.Read(ref _openUntil))
        {
            throw new CacheUnavailableException("The Redis cache circuit is open after a recent failure.");
        }

        try
        {
            var connectTask = _connection.Value;
            if (!connectTask.IsCompleted)
            {
                await connectTask.WaitAsync(_options.ConnectTimeout + _options.OperationTimeout).ConfigureAwait(false);
            }

            var connection = await connectTask.ConfigureAwait(false);
            if (!connection.IsConnected)
            {
                throw new CacheUnavailableException("Redis is not connected.");
            }

            return await operation(connection.GetDatabase()).WaitAsync(_options.OperationTimeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransportFailure(ex))
        {
            Volatile.Write(ref _openUntil, Environment.TickCount64 + (long)_options.BreakDuration.TotalMilliseconds);
            throw ex as CacheUnavailableException ?? new CacheUnavailableException("Redis cache operation failed: " + ex.Message, ex);
        }
    }

    /// <summary>
    /// Whether <paramref name="ex"/> says Redis could not be reached (the breaker opens, the caller falls back to the
    /// shard) rather than a fault in the request. A connection closed under a command while the server restarts
    /// surfaces from StackExchange.Redis's pipe as an <see cref="InvalidOperationException"/> ("Writing is not allowed
    /// after writer was completed") — counted here by its source, so an <see cref="InvalidOperationException"/> of
    /// this code stays a bug that is reported.
    /// </summary>
    internal static bool IsTransportFailure(Exception ex) =>
        ex is RedisConnectionException or TimeoutException or CacheUnavailableException or ObjectDisposedException
        || (ex is InvalidOperationException && ex.Source is "System.IO.Pipelines" or "Pipelines.Sockets.Unofficial" or "StackExchange.Redis");

    private async Task RunAsync(Func<IDatabase, Task> operation) =>
        await RunAsync(async db =>
        {
            await operation(db).ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);

    private async Task<IConnectionMultiplexer> GetConnectionAsync()
    {
        var connection = await _connection.Value.WaitAsync(_options.ConnectTimeout + _options.OperationTimeout).ConfigureAwait(false);
        return connection.IsConnected ? connection : throw new CacheUnavailableException("Redis is not connected.");
    }

    private async Task<IConnectionMultiplexer> ConnectAsync()
    {
        var configuration = ConfigurationOptions.Parse(_options.Configuration);
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = (int)_options.ConnectTimeout.TotalMilliseconds;
        configuration.SyncTimeout = (int)Math.Max(1000, _options.OperationTimeout.TotalMilliseconds);
        configuration.KeepAlive = 5;
        return await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
    }

    private static string EscapeGlob(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.ToString();
    }
}

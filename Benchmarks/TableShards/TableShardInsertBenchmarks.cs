using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.Data.Sqlite;

namespace OrleansShards.Benchmarks.TableShards;

/// <summary>One single-row insert at a time (each its own durable commit, WAL + synchronous=FULL): grain in-process against raw Microsoft.Data.Sqlite.</summary>
[BenchmarkCategory("single-insert")]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class TableShardInsertBenchmarks
{
    private ShardBenchmarkHost _host = null!;
    private SqliteConnection _raw = null!;
    private SqliteCommand _insert = null!;
    private SqliteParameter _name = null!;
    private SqliteConnection _rawLog = null!;
    private SqliteCommand _begin = null!;
    private SqliteCommand _insertLogged = null!;
    private SqliteParameter _loggedName = null!;
    private SqliteCommand _log = null!;
    private SqliteParameter _logSeq = null!;
    private SqliteParameter _logAt = null!;
    private SqliteParameter _logChangeset = null!;
    private SqliteCommand _commit = null!;
    private long _seq;

    // Synchronous on purpose: the in-process toolchain does not await async setup/cleanup.
    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup() => CleanupAsync().AsTask().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _host = await ShardBenchmarkHost.StartAsync();
        _raw = _host.OpenRaw();
        _insert = _raw.CreateCommand();
        _insert.CommandText = "INSERT INTO items(name, qty) VALUES ($name, 1)";
        _name = _insert.Parameters.Add("$name", SqliteType.Text);
        _insert.Prepare();

        // The same insert plus a change-log row in the same transaction (what the log costs, without the engine).
        _rawLog = _host.OpenRaw("raw-log.db");
        using (var schema = _rawLog.CreateCommand())
        {
            schema.CommandText = "CREATE TABLE IF NOT EXISTS _changes(seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, kind INTEGER NOT NULL, changeset BLOB, ddl TEXT, restored_to INTEGER)";
            schema.ExecuteNonQuery();
        }

        _begin = Prepared(_rawLog, "BEGIN IMMEDIATE");
        _insertLogged = Prepared(_rawLog, "INSERT INTO items(name, qty) VALUES ($name, 1)", ("$name", SqliteType.Text));
        _loggedName = _insertLogged.Parameters[0];
        _log = Prepared(_rawLog, "INSERT INTO _changes(seq, at_ms, kind, changeset) VALUES ($seq, $at, 0, $cs)",
            ("$seq", SqliteType.Integer), ("$at", SqliteType.Integer), ("$cs", SqliteType.Blob));
        (_logSeq, _logAt, _logChangeset) = (_log.Parameters[0], _log.Parameters[1], _log.Parameters[2]);
        _logChangeset.Value = new byte[40]; // the size of a one-row insert changeset on this table
        _commit = Prepared(_rawLog, "COMMIT");
    }

    private static SqliteCommand Prepared(SqliteConnection connection, string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, type) in parameters)
        {
            command.Parameters.Add(name, type);
        }

        command.Prepare();
        return command;
    }

    private async ValueTask CleanupAsync()
    {
        _insert.Dispose();
        _raw.Dispose();
        foreach (var command in new[] { _begin, _insertLogged, _log, _commit })
        {
            command.Dispose();
        }

        _rawLog.Dispose();
        await _host.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "raw MDS insert (autocommit)")]
    public int RawInsert()
    {
        _name.Value = "raw";
        return _insert.ExecuteNonQuery();
    }

    [Benchmark(Description = "raw MDS insert + log row (one transaction)")]
    public int RawInsertWithLog()
    {
        _begin.ExecuteNonQuery();
        _loggedName.Value = "raw";
        var changes = _insertLogged.ExecuteNonQuery();
        _logSeq.Value = ++_seq;
        _logAt.Value = Environment.TickCount64;
        _log.ExecuteNonQuery();
        _commit.ExecuteNonQuery();
        return changes;
    }

    [Benchmark(Description = "grain insert (in-process)")]
    public async Task<long> GrainInsert()
    {
        var result = await _host.Shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, 1)", ["grain"]));
        return result.Changes;
    }
}

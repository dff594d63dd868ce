using System.Globalization;
using OrleansShards.Grains.Sharding;
using SQLitePCL;

namespace OrleansShards.Grains.Storage;

/// <summary>
/// Holds a partition of a sharded table to the rows its writes were routed by. A write to a sharded table carries
/// <c>shardKey</c>; the routing grain sends it to the partition that key belongs to, with a <see cref="ShardKeyCheck"/>.
/// For that write, every row it inserts, updates (before and after) or deletes in the sharded table must have a key
/// (column value, or the value at the JSON path) that routes to this partition — for roundRobin, which assigns each key
/// on first use, the very key it was routed by. A row that does not would land in (or be taken from) a partition its key
/// does not route to, and be lost to every later read by its own key. The statement then fails with
/// <c>INVALID_ARGUMENT</c> and nothing of it stays.
/// </summary>
/// <remarks>
/// Mechanism: three TEMP triggers on the writer connection (AFTER INSERT/UPDATE/DELETE, so they see the values as
/// stored, after column affinity) call <c>_shard_key_check(value)</c>, a function of this connection that compares the
/// value with the key of the work being executed and raises an error on a difference. Without a routed work in
/// progress (engine writes: moves, restores, direct calls) the function passes everything. TEMP objects live only on
/// this connection and in no file: replicas, snapshots and restores never see them. They are (re)installed by the
/// first routed write that finds them missing (a new connection, a rolled-back creation, a DDL that dropped them).
/// </remarks>
internal sealed class ShardKeyGuard
{
    private const string FunctionName = "_shard_key_check";
    private const int SqliteUtf8 = 1;
    private const int SqliteInnocuous = 0x000200000;
    private static readonly string[] TriggerNames = ["_shardkey_i", "_shardkey_u", "_shardkey_d"];

    private readonly ShardConnection _connection;
    private readonly delegate_function_scalar _function;
    private ShardKeyRule? _expected;
    private string? _mismatch;

    private ShardKeyGuard(ShardConnection connection)
    {
        _connection = connection;
        _function = (context, _, args) => Check(context, args);
        var rc = raw.sqlite3_create_function(connection.Db, FunctionName, 1, SqliteUtf8 | SqliteInnocuous, null, _function);
        if (rc != SqliteResultCodes.Ok)
        {
            throw connection.Failure(rc);
        }
    }

    /// <summary>How many times the triggers were (re)created on this connection (once per key layout, and after DDL).</summary>
    public int Installs { get; private set; }

    /// <summary>The guard of <paramref name="connection"/>, created (function registered) on first use.</summary>
    public static ShardKeyGuard Of(ShardConnection connection)
    {
        if (connection.KeyGuard is { } guard)
        {
            return guard;
        }

        guard = new ShardKeyGuard(connection);
        connection.KeyGuard = guard;
        return guard;
    }

    /// <summary>
    /// Runs <paramref name="body"/> (the statements of one routed work) with every row it touches in
    /// <paramref name="rule"/>'s table held to it. A row that contradicts it fails the statement with
    /// <c>INVALID_ARGUMENT</c>.
    /// </summary>
    public void Run(ShardKeyRule rule, Action body)
    {
        EnsureTriggers(rule.Check);
        _expected = rule;
        _mismatch = null;
        try
        {
            body();
        }
        finally
        {
            _expected = null;
            _mismatch = null;
        }
    }

    /// <summary>
    /// The failure of a statement that a row's key failed (as <c>INVALID_ARGUMENT</c>), or null when
    /// <paramref name="error"/> has another cause.
    /// </summary>
    public ShardException? Refusal(ShardException error)
    {
        if (_mismatch is not { } mismatch)
        {
            return null;
        }

        _mismatch = null;
        return new ShardException(ShardErrorCode.InvalidArgument, mismatch, error.SqliteCode ?? 0, error.SqliteExtendedCode ?? 0, error);
    }

    /// <summary>Drops the triggers (before tenant DDL, which could otherwise fail on them, e.g. dropping the key column).</summary>
    public static void DropTriggers(ShardConnection connection)
    {
        if (connection.KeyGuard is null)
        {
            return;
        }

        var previous = connection.Mode;
        connection.Mode = SqlMode.Internal;
        try
        {
            foreach (var name in TriggerNames)
            {
                connection.Execute($"DROP TRIGGER IF EXISTS temp.{name}");
            }
        }
        finally
        {
            connection.Mode = previous;
        }
    }

    private void EnsureTriggers(ShardKeyCheck check)
    {
        // The key expression the moves read rows by, so a row passes exactly when they would leave it here.
        var table = ShardSql.Quote(check.Table);
        var row = (string alias) => ShardSql.KeyExpression(alias, check.Layout.Key, check.Layout.KeyPath);
        string[] sql =
        [
            $"CREATE TEMP TRIGGER _shardkey_i AFTER INSERT ON main.{table} BEGIN SELECT {FunctionName}({row("NEW")}); END",
            $"CREATE TEMP TRIGGER _shardkey_u AFTER UPDATE ON main.{table} BEGIN SELECT {FunctionName}({row("OLD")}), {FunctionName}({row("NEW")}); END",
            $"CREATE TEMP TRIGGER _shardkey_d AFTER DELETE ON main.{table} BEGIN SELECT {FunctionName}({row("OLD")}); END",
        ];

        var previous = _connection.Mode;
        _connection.Mode = SqlMode.Internal;
        try
        {
            // One cached look-up per routed work; the triggers are recreated whenever they are missing or made for another
            // key. SQLite stores a TEMP trigger's text without the TEMP keyword.
            var stored = Array.ConvertAll(sql, text => text.Replace("CREATE TEMP TRIGGER", "CREATE TRIGGER", StringComparison.Ordinal));
            var present = _connection.ExecuteScalar(
                "SELECT count(*) FROM temp.sqlite_master WHERE type = 'trigger' AND ((name = ? AND sql = ?) OR (name = ? AND sql = ?) OR (name = ? AND sql = ?))",
                TriggerNames[0], stored[0], TriggerNames[1], stored[1], TriggerNames[2], stored[2]);
            if (present == TriggerNames.Length)
            {
                return;
            }

            for (var i = 0; i < TriggerNames.Length; i++)
            {
                _connection.Execute($"DROP TRIGGER IF EXISTS temp.{TriggerNames[i]}");
                _connection.Execute(sql[i]);
            }

            Installs++;
        }
        finally
        {
            _connection.Mode = previous;
        }
    }

    private void Check(sqlite3_context context, sqlite3_value[] args)
    {
        if (_expected is not { } rule)
        {
            raw.sqlite3_result_int(context, 1);
            return;
        }

        var actual = Read(args[0]);
        string? refusal;
        try
        {
            refusal = rule.Belongs(actual) ? null : "it would be in a partition its key does not route to";
        }
        catch (Exception ex)
        {
            // A custom router that throws: the row cannot be placed, and nothing may escape into SQLite's callback.
            refusal = "its key cannot be routed: " + ex.Message;
        }

        if (refusal is null)
        {
            raw.sqlite3_result_int(context, 1);
            return;
        }

        var check = rule.Check;
        var column = check.Layout.KeyPath is null ? check.Layout.Key : check.Layout.Key + "." + check.Layout.KeyPath;
        _mismatch ??= $"shardKey {Describe(check.Value)} contradicts a row whose {column} is {Describe(actual)}: {refusal}. " +
            "A write routed by shardKey may only insert, change or delete rows of that key's partition.";
        raw.sqlite3_result_error(context, _mismatch);
    }

    private static SqlValue Read(sqlite3_value value) => raw.sqlite3_value_type(value) switch
    {
        raw.SQLITE_INTEGER => SqlValue.FromInteger(raw.sqlite3_value_int64(value)),
        raw.SQLITE_FLOAT => SqlValue.FromReal(raw.sqlite3_value_double(value)),
        // The bytes SQLite holds, with their length: a C-string read would stop at an embedded NUL ("a\0x" seen as "a").
        raw.SQLITE_TEXT => SqlValue.FromText(System.Text.Encoding.UTF8.GetString(raw.sqlite3_value_blob(value))),
        raw.SQLITE_BLOB => SqlValue.FromBlob(raw.sqlite3_value_blob(value).ToArray()),
        _ => SqlValue.Null,
    };

    private static string Describe(SqlValue value) => value.Kind switch
    {
        SqlValueKind.Null => "NULL",
        SqlValueKind.Integer => value.AsInteger.ToString(CultureInfo.InvariantCulture) + " (integer)",
        SqlValueKind.Real => value.AsReal.ToString("R", CultureInfo.InvariantCulture) + " (real)",
        SqlValueKind.Text => "'" + (value.AsText.Length > 64 ? value.AsText[..64] + "…" : value.AsText) + "' (text)",
        _ => $"a {value.AsBlob.Length}-byte blob",
    };
}

/// <summary>
/// A write routed to partition <paramref name="Index"/> of <paramref name="Table"/> under <paramref name="Layout"/> by
/// shard key <paramref name="Value"/>; the partition holds its rows to it (<see cref="ShardKeyGuard"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansShards.ShardKeyCheck")]
internal sealed record ShardKeyCheck(
    [property: Id(0)] string Table,
    [property: Id(1)] ShardLayout Layout,
    [property: Id(2)] int Index,
    [property: Id(3)] SqlValue Value);

/// <summary>A <see cref="ShardKeyCheck"/> resolved on the partition: <paramref name="Belongs"/> tells whether a row's key may be written there.</summary>
internal sealed record ShardKeyRule(ShardKeyCheck Check, Func<SqlValue, bool> Belongs);

using System.Text.Json;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Sharding;

/// <summary>
/// Where a base table's file keeps its sharding state: the layout and the operation journal as JSON in <c>_meta</c>,
/// and for roundRobin the key→shard assignments in <c>_shard_assign</c> with the next turn in <c>_meta</c>. The
/// writes run on the writer's connection (in the engine's maintenance step, so they are logged and replicated).
/// </summary>
internal static class ShardingMeta
{
    private const string LayoutKey = "shard:layout";
    private const string OperationKey = "shard:op";
    private const string RoundRobinNextKey = "shard:rr-next";

    /// <summary>The table of roundRobin assignments (read by the registry's placement answer too).</summary>
    public const string AssignTable = "_shard_assign";

    /// <summary>The layout (null: not sharded) and the journal (null: no operation) this file holds.</summary>
    public static (ShardLayout? Layout, ShardOperation? Operation) Read(ShardConnection connection)
    {
        var layout = ReadText(connection, LayoutKey) is { } layoutJson
            ? JsonSerializer.Deserialize(layoutJson, ShardingJsonContext.Default.ShardLayout)
            : null;
        var operation = ReadText(connection, OperationKey) is { } operationJson
            ? JsonSerializer.Deserialize(operationJson, ShardingJsonContext.Default.ShardOperation)
            : null;
        return (layout, operation);
    }

    /// <summary>The assigner of <paramref name="layout"/>, with the recorded roundRobin assignments of this file.</summary>
    public static ShardAssigner ReadAssigner(ShardConnection connection, ShardLayout layout, ShardRouterRegistry? routers)
    {
        if (layout.Strategy != ShardStrategies.RoundRobin)
        {
            return new ShardAssigner(layout, routers?.Find(layout.Router));
        }

        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        if (connection.ExecuteScalar("SELECT count(*) FROM sqlite_master WHERE name = ?", AssignTable) > 0)
        {
            foreach (var row in connection.Query($"SELECT k, shard FROM {AssignTable}"))
            {
                map[row[0].AsText] = (int)row[1].AsInteger;
            }
        }

        var next = connection.Query("SELECT value FROM _meta WHERE key = ?", RoundRobinNextKey) is [var n, ..] && n[0].Kind == SqlValueKind.Integer
            ? n[0].AsInteger
            : map.Count;
        return new ShardAssigner(layout, null, map, next);
    }

    /// <summary>Records new roundRobin assignments and the next turn, in one transaction.</summary>
    public static void RecordAssignments(ShardConnection writer, IReadOnlyList<KeyValuePair<string, int>> fresh, long next) =>
        InTransaction(writer, () =>
        {
            writer.Execute($"CREATE TABLE IF NOT EXISTS {AssignTable}(k TEXT PRIMARY KEY, shard INTEGER NOT NULL) WITHOUT ROWID");
            foreach (var (k, shard) in fresh)
            {
                writer.ExecuteInternal($"INSERT OR REPLACE INTO {AssignTable}(k, shard) VALUES (?, ?)", k, shard);
            }

            writer.ExecuteInternal("INSERT OR REPLACE INTO _meta(key, value) VALUES (?, ?)", RoundRobinNextKey, next);
        });

    /// <summary>
    /// The switch, in one transaction: the new layout (none: unsharded, the assignments dropped), for roundRobin every
    /// assignment of <paramref name="assigner"/>, and the journal at <paramref name="switched"/>.
    /// </summary>
    public static void WriteSwitch(ShardConnection writer, ShardOperation switched, ShardAssigner assigner)
    {
        var layout = switched.NewLayout;
        var assignments = layout?.Strategy == ShardStrategies.RoundRobin ? assigner.Assignments() : null;
        InTransaction(writer, () =>
        {
            if (layout is null)
            {
                writer.ExecuteInternal("DELETE FROM _meta WHERE key IN (?, ?)", LayoutKey, RoundRobinNextKey);
                writer.Execute($"DROP TABLE IF EXISTS {AssignTable}");
            }
            else
            {
                writer.ExecuteInternal("INSERT OR REPLACE INTO _meta(key, value) VALUES (?, ?)", LayoutKey,
                    JsonSerializer.Serialize(layout, ShardingJsonContext.Default.ShardLayout));
            }

            if (assignments is not null)
            {
                writer.Execute($"DROP TABLE IF EXISTS {AssignTable}; CREATE TABLE {AssignTable}(k TEXT PRIMARY KEY, shard INTEGER NOT NULL) WITHOUT ROWID;");
                foreach (var (k, shard) in assignments)
                {
                    writer.ExecuteInternal($"INSERT INTO {AssignTable}(k, shard) VALUES (?, ?)", k, shard);
                }

                writer.ExecuteInternal("INSERT OR REPLACE INTO _meta(key, value) VALUES (?, ?)", RoundRobinNextKey, assigner.Next);
            }

            WriteJournal(writer, switched);
        });
    }

    /// <summary>Writes the journal (null: clears it).</summary>
    public static void WriteJournal(ShardConnection writer, ShardOperation? operation)
    {
        if (operation is null)
        {
            writer.ExecuteInternal("DELETE FROM _meta WHERE key = ?", OperationKey);
        }
        else
        {
            writer.ExecuteInternal("INSERT OR REPLACE INTO _meta(key, value) VALUES (?, ?)", OperationKey,
                JsonSerializer.Serialize(operation, ShardingJsonContext.Default.ShardOperation));
        }
    }

    /// <summary>Runs <paramref name="body"/> in one <c>BEGIN IMMEDIATE</c> transaction, rolled back when it throws.</summary>
    public static void InTransaction(ShardConnection writer, Action body)
    {
        writer.Execute("BEGIN IMMEDIATE");
        try
        {
            body();
            writer.Execute("COMMIT");
        }
        catch
        {
            if (SQLitePCL.raw.sqlite3_get_autocommit(writer.Db) == 0)
            {
                writer.Execute("ROLLBACK");
            }

            throw;
        }
    }

    private static string? ReadText(ShardConnection connection, string key) =>
        connection.Query("SELECT value FROM _meta WHERE key = ?", key) is [var row, ..] && row[0].Kind == SqlValueKind.Text ? row[0].AsText : null;
}

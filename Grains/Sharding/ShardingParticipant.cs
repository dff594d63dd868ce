using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Storage.Native;
using OrleansShards.Grains.Writes;

namespace OrleansShards.Grains.Sharding;

/// <summary>
/// One table file's side of a split or merge (<see cref="IShardHost"/>): describing the tables sharding moves, reading
/// them in chunks and by key, reading the change log's tail as the keys to copy again, and applying moved rows, staging
/// and finishing them. Reads use the shard's reader pool; every write goes through the shard's writer as an engine
/// write (captured, logged and outboxed like a tenant write: a restore replays it, the cache is invalidated). A plain
/// class over the engine, so it runs and is tested without a silo.
/// </summary>
internal sealed class ShardingParticipant(string shard, ReaderPool readers, ShardWriter writer)
{
    private readonly string _shard = shard;
    private readonly ReaderPool _readers = readers;
    private readonly ShardWriter _writer = writer;

    public async Task<TableShape> DescribeAsync(string table, string key, string? keyPath, CancellationToken cancellationToken = default)
    {
        var reader = await _readers.RentAsync(cancellationToken);
        try
        {
            var parent = DescribePart(reader, table, out var columns) ?? throw new ShardException(ShardErrorCode.NotFound, $"Table {table} does not exist.");
            var keyColumn = columns.FirstOrDefault(c => string.Equals(c, key, StringComparison.OrdinalIgnoreCase))
                ?? throw new ShardException(ShardErrorCode.InvalidArgument, $"Table {table} has no column {key} to shard by.");
            var keyExpression = ShardSql.KeyExpression("p", keyColumn, keyPath);
            var parts = new List<TablePart> { parent with { SelectWithKey = $"SELECT {keyExpression}, p.* FROM {ShardSql.Quote(parent.Name)} AS p" } };
            foreach (var row in reader.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%' ORDER BY name"))
            {
                var child = row[0].AsText;
                if (string.Equals(child, parent.Name, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                var foreignKeys = reader.Query("SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?) ORDER BY id, seq", child)
                    .Where(fk => string.Equals(fk[1].AsText, parent.Name, StringComparison.OrdinalIgnoreCase))
                    .ToList();
                if (foreignKeys.Count == 0)
                {
                    continue;
                }

                var firstId = foreignKeys[0][0].AsInteger;
                var links = foreignKeys.Where(fk => fk[0].AsInteger == firstId).ToList();
                var childPart = DescribePart(reader, child, out _)!;
                var join = string.Join(" AND ", links.Select((fk, i) =>
                    $"{ShardSql.Column(fk[2].AsText, "c")} = {ShardSql.Column(fk[3].IsNull ? parent.Columns[parent.PrimaryKey[i]] : fk[3].AsText, "p")}"));
                parts.Add(childPart with
                {
                    SelectWithKey = $"SELECT {keyExpression}, c.* FROM {ShardSql.Quote(child)} AS c LEFT JOIN {ShardSql.Quote(parent.Name)} AS p ON {join}",
                    RowAlias = "c",
                });
            }

            var early = new List<string>();
            var late = new List<string>();
            foreach (var row in reader.Query(
                "SELECT type, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE '\\_%' ESCAPE '\\' AND tbl_name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%' " +
                // A virtual table's shadow tables (an FTS5 table's f_data, f_idx, …) are its module's: its CREATE VIRTUAL
                // TABLE makes them again, and creating one by name is refused.
                "AND tbl_name NOT IN (SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow') " +
                "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END, rowid"))
            {
                (row[0].AsText is "table" or "index" ? early : late).Add(row[1].AsText);
            }

            // Tables of the file that are neither the table nor a child of it (a virtual table included, its shadow tables
            // not) and hold rows: a shard would leave their rows in the base file, unseen through the partitions.
            var unmoved = reader.Query(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%' " +
                    "AND name NOT IN (SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow') ORDER BY name")
                .Select(r => r[0].AsText)
                .Where(name => parts.All(p => !string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)))
                .Where(name => reader.ExecuteScalar($"SELECT EXISTS (SELECT 1 FROM {ShardSql.Quote(name)})") != 0)
                .ToList();
            return new TableShape(parent.Name, parts, early, late, unmoved);
        }
        finally
        {
            _readers.Return(reader);
        }
    }

    private static TablePart? DescribePart(ShardConnection reader, string table, out List<string> columns)
    {
        var info = reader.Query("SELECT name, pk FROM pragma_table_info(?) ORDER BY cid", table);
        columns = [.. info.Select(c => c[0].AsText)];
        if (info.Count == 0)
        {
            return null;
        }

        var name = reader.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE", table) is [var n, ..] ? n[0].AsText : table;
        List<int> primaryKey = [.. info.Select((c, i) => (c, i)).Where(x => x.c[1].AsInteger > 0).Select(x => x.i)];
        if (primaryKey.Count == 0)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument,
                $"Table {name} has no PRIMARY KEY; sharding identifies rows by their primary key (declare one).");
        }

        return new TablePart(name, columns, primaryKey, $"SELECT NULL, p.* FROM {ShardSql.Quote(name)} AS p", "p");
    }

    public async Task<long> CountRowsAsync(string table, CancellationToken cancellationToken = default)
    {
        var reader = await _readers.RentAsync(cancellationToken);
        try
        {
            return reader.ExecuteScalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE", table) == 0
                ? 0
                : reader.ExecuteScalar($"SELECT count(*) FROM {ShardSql.Quote(table)}");
        }
        finally
        {
            _readers.Return(reader);
        }
    }

    public async Task<IReadOnlyList<SqlValue[]>> ReadInternalAsync(string sql, IReadOnlyList<SqlValue> parameters, CancellationToken cancellationToken = default)
    {
        var reader = await _readers.RentAsync(cancellationToken);
        try
        {
            return reader.Query(sql, [.. parameters]);
        }
        finally
        {
            _readers.Return(reader);
        }
    }

    public async Task<IReadOnlyList<SqlValue[]>> ReadChunkAsync(string sql, IReadOnlyList<SqlValue> parameters, CancellationToken cancellationToken = default)
    {
        var reader = await _readers.RentAsync(cancellationToken);
        try
        {
            // As the engine over tenant rows: the tenant's value cap holds (a virtual generated column of zeroblob(1e9)
            // would otherwise be computed row after row into memory), and a chunk stops at ChunkBytes.
            reader.Mode = SqlMode.Engine;
            reader.StopAfterBytes = ShardHostLimits.ChunkBytes;
            return reader.Query(sql, [.. parameters]);
        }
        finally
        {
            reader.StopAfterBytes = long.MaxValue;
            reader.Mode = SqlMode.Internal;
            _readers.Return(reader);
        }
    }

    public async Task<IReadOnlyList<SqlValue[]?>> ReadRowsAsync(string sql, IReadOnlyList<SqlValue[]> keys, CancellationToken cancellationToken = default)
    {
        var reader = await _readers.RentAsync(cancellationToken);
        try
        {
            // Tenant rows, read as the engine under the tenant's value cap (see ReadChunkAsync).
            reader.Mode = SqlMode.Engine;
            var rows = new SqlValue[]?[keys.Count];
            for (var i = 0; i < keys.Count; i++)
            {
                rows[i] = reader.Query(sql, keys[i]) is [var row, ..] ? row : null;
            }

            return rows;
        }
        finally
        {
            reader.Mode = SqlMode.Internal;
            _readers.Return(reader);
        }
    }

    public async Task<TailChunk> ReadTailAsync(long afterSequence, int maxCommits, CancellationToken cancellationToken = default)
    {
        var reader = await _readers.RentAsync(cancellationToken);
        try
        {
            var commits = reader.Query("SELECT seq, kind, changeset FROM _changes WHERE seq > ? ORDER BY seq LIMIT ?", afterSequence, maxCommits + 1);
            var more = commits.Count > maxCommits;
            var keys = new Dictionary<string, List<SqlValue[]>>(StringComparer.OrdinalIgnoreCase);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var last = afterSequence;
            var schemaChanged = false;
            foreach (var commit in commits.Take(maxCommits))
            {
                last = commit[0].AsInteger;
                if (commit[1].AsInteger != 0)
                {
                    schemaChanged = true;
                    continue;
                }

                if (commit[2].Kind != SqlValueKind.Blob)
                {
                    throw new InvalidOperationException($"Commit {last} of {_shard} has no changeset; the change log must capture changesets for online resharding.");
                }

                foreach (var change in Changeset.Read(commit[2].AsBlob))
                {
                    var values = change.Op == ChangeOperation.Insert ? change.New : change.Old;
                    var key = new List<SqlValue>();
                    for (var i = 0; i < change.ColumnCount; i++)
                    {
                        if (change.PrimaryKeyColumns[i])
                        {
                            key.Add(values[i] ?? SqlValue.Null);
                        }
                    }

                    if (seen.Add(change.Table + "\u0001" + KeyCodec.Encode(key)))
                    {
                        if (!keys.TryGetValue(change.Table, out var list))
                        {
                            keys[change.Table] = list = [];
                        }

                        list.Add([.. key]);
                    }
                }
            }

            return new TailChunk(last, more, keys, schemaChanged);
        }
        finally
        {
            _readers.Return(reader);
        }
    }

    public async Task ApplyAsync(ApplyBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);

        // One write path: moved rows are captured, logged and outboxed like a tenant write, so a restore of this shard
        // replays them and its cache entries are invalidated. Foreign keys are off: rows arrive in any order.
        await _writer.RunEngineWriteAsync(
            writer =>
            {
                foreach (var statement in batch.Setup)
                {
                    writer.Execute(statement);
                }

                foreach (var write in batch.Writes)
                {
                    foreach (var key in write.Deletes)
                    {
                        writer.ExecuteInternal(write.DeleteSql, key);
                    }

                    foreach (var row in write.Upserts)
                    {
                        writer.ExecuteInternal(write.UpsertSql, row);
                    }
                }
            },
            foreignKeysOff: true);
        _readers.ClearPlanCaches();
    }

    public async Task FinishMoveAsync(IReadOnlyList<string> tables, CancellationToken cancellationToken = default)
    {
        await _writer.RunEngineWriteAsync(
            writer =>
            {
                foreach (var table in tables)
                {
                    var deletes = ShardSql.DeletesOf(table);
                    if (TableExists(writer, deletes))
                    {
                        var keys = string.Join(", ", writer.Query($"SELECT name FROM pragma_table_info(?) ORDER BY cid", deletes).Select(r => ShardSql.Quote(r[0].AsText)));
                        writer.Execute($"DELETE FROM {ShardSql.Quote(table)} WHERE ({keys}) IN (SELECT {keys} FROM {ShardSql.Quote(deletes)}); DROP TABLE {ShardSql.Quote(deletes)};");
                    }
                }

                foreach (var table in tables)
                {
                    var stage = ShardSql.StageOf(table);
                    if (TableExists(writer, stage))
                    {
                        writer.Execute($"INSERT OR REPLACE INTO {ShardSql.Quote(table)} SELECT * FROM {ShardSql.Quote(stage)}; DROP TABLE {ShardSql.Quote(stage)};");
                    }
                }
            },
            foreignKeysOff: true);
        _readers.ClearPlanCaches();
    }

    public async Task DropStagingAsync(IReadOnlyList<string> tables, CancellationToken cancellationToken = default)
    {
        await _writer.RunMaintenanceAsync(writer =>
        {
            ShardingMeta.InTransaction(writer, () =>
            {
                foreach (var table in tables)
                {
                    writer.Execute($"DROP TABLE IF EXISTS {ShardSql.Quote(ShardSql.StageOf(table))}; DROP TABLE IF EXISTS {ShardSql.Quote(ShardSql.DeletesOf(table))};");
                }
            });
            return Task.CompletedTask;
        });
        _readers.ClearPlanCaches();
    }

    public async Task TruncateAsync(IReadOnlyList<string> tables, CancellationToken cancellationToken = default)
    {
        await _writer.RunEngineWriteAsync(
            writer =>
            {
                foreach (var table in tables)
                {
                    if (TableExists(writer, table))
                    {
                        writer.Execute($"DELETE FROM {ShardSql.Quote(table)}");
                    }
                }
            },
            foreignKeysOff: true);
    }

    private static bool TableExists(ShardConnection connection, string table) =>
        connection.ExecuteScalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE", table) > 0;
}

namespace OrleansShards.Grains.Sharding;

/// <summary>
/// Moves rows of a table (and its child tables) from source shards to target shards while writes continue.
/// <list type="number">
/// <item>Copy: note each source's commit sequence S, then read its rows in primary-key chunks (a fuzzy snapshot:
/// chunks may see commits after S) and write each row whose shard changes to its target.</item>
/// <item>Catch-up: read the change-log tail after S (the changesets in <c>_changes</c>, split by table with
/// <c>Changeset.Read</c>), and re-synchronise every changed key from the source's current row: upsert it where it
/// belongs now, delete it from every other target. This is idempotent and state-based, so replaying a key twice
/// or a tail that overlaps the fuzzy copy converges; rounds repeat while the tail shrinks.</item>
/// <item>Final catch-up, run by the base table inside its exclusive switch turn, when no write can commit: after it
/// the targets hold exactly the rows the sources hold.</item>
/// </list>
/// A live target (a shard serving reads) receives rows in a staging table <c>_mv_{table}</c>, merged at the switch; a
/// live source keeps rows that left it until the switch deletes them (their keys are tracked here).
/// </summary>
internal sealed class ShardMigration
{
    private const int ChunkSize = 16_384;
    private const int TailCommits = 512;
    private readonly Dictionary<string, long> _lastSequence = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, Dictionary<string, SqlValue[]>>> _moved = new(StringComparer.Ordinal);
    private readonly HashSet<string> _stagesCreated = new(StringComparer.Ordinal);
    private readonly IProgress<long>? _progress;

    public ShardMigration(ShardOperation operation, TableShape shape, ShardAssigner assigner, Func<string, IShardHost> hosts, ShardingFaults? faults, IProgress<long>? progress = null)
    {
        _progress = progress;
        Operation = operation;
        Shape = shape;
        Assigner = assigner;
        Hosts = hosts;
        Faults = faults;
    }

    public ShardOperation Operation { get; }

    public TableShape Shape { get; }

    /// <summary>Assigns a key to its shard index in the new layout (ignored for unshard: one target).</summary>
    public ShardAssigner Assigner { get; }

    /// <summary>Resolves a table name to its host; the base table replaces itself with a direct reference during the switch.</summary>
    public Func<string, IShardHost> Hosts { get; set; }

    public ShardingFaults? Faults { get; }

    /// <summary>The cleanup the switch started (removed shards deleted, base emptied, journal cleared); writes already flow.</summary>
    public Task Cleanup { get; set; } = Task.CompletedTask;

    /// <summary>Rows of the sources read by the copy (reported to the progress sink after each chunk).</summary>
    public long RowsRead { get; private set; }

    /// <summary>Rows written to targets by copy and catch-up (a row written twice counts twice).</summary>
    public long RowsWritten { get; private set; }

    public void Step(string step) => Faults?.Step(step);

    public bool IsLiveSource(string source) => Operation.Targets.Any(t => t.Mode == TargetMode.Live && t.Name == source);

    /// <summary>Keys of <paramref name="table"/> that left live source <paramref name="source"/>.</summary>
    public IReadOnlyCollection<SqlValue[]> MovedOut(string source, string table) =>
        _moved.TryGetValue(source, out var byTable) && byTable.TryGetValue(table, out var keys) ? keys.Values : [];

    public async Task CopyAsync(CancellationToken cancellationToken)
    {
        foreach (var source in Operation.Sources)
        {
            _lastSequence[source] = await Hosts(source).GetSequenceAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var source in Operation.Sources)
        {
            foreach (var part in Shape.Parts)
            {
                SqlValue[] cursor = [];
                var pending = Task.CompletedTask;
                while (true)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var rows = await Hosts(source).ReadChunkAsync(ShardSql.Chunk(part, cursor.Length == 0, ChunkSize), cursor, cancellationToken).ConfigureAwait(false);
                    if (rows.Count == 0)
                    {
                        break;
                    }

                    RowsRead += rows.Count;
                    _progress?.Report(RowsRead);

                    // Chunks are disjoint key ranges: no de-duplication needed, so rows go straight to per-target lists.
                    var perTarget = new List<SqlValue[]>?[Operation.Targets.Count];
                    var live = IsLiveSource(source);
                    foreach (var withKey in rows)
                    {
                        var row = withKey[1..];
                        var target = TargetIndexOf(withKey[0]);
                        if (Operation.Targets[target].Name == source)
                        {
                            continue;
                        }

                        (perTarget[target] ??= []).Add(row);
                        if (live)
                        {
                            var key = part.KeyOf(row);
                            TrackMoved(source, part, KeyCodec.Encode(key), key, moved: true);
                        }
                    }

                    // Read the next chunk while this one is written (one chunk in flight).
                    await pending.ConfigureAwait(false);
                    pending = WriteCopyAsync(part, perTarget, cancellationToken);
                    // A chunk that ended for its bytes (ChunkBytes) is read on from; one short of both bounds was the end (rows
                    // inserted meanwhile come with the catch-up, as before: reading on until an empty chunk never ended under
                    // steady inserts at the top of the key range).
                    cursor = part.KeyOf(rows[^1][1..]);
                    if (rows.Count < ChunkSize && rows.Sum(Storage.ResultCap.RowBytes) < ShardHostLimits.ChunkBytes / 2)
                    {
                        break;
                    }
                }

                await pending.ConfigureAwait(false);
            }
        }
    }

    private Task WriteCopyAsync(TablePart part, List<SqlValue[]>?[] perTarget, CancellationToken cancellationToken)
    {
        var tasks = new List<Task>();
        for (var t = 0; t < perTarget.Length; t++)
        {
            if (perTarget[t] is not { Count: > 0 } rows)
            {
                continue;
            }

            var target = Operation.Targets[t];
            var table = WriteTable(target, part);
            RowsWritten += rows.Count;
            tasks.Add(CopyToAsync(target, part, new ApplyBatch(StageSetup(target, part, table), [new TableWrite(string.Empty, ShardSql.Insert(table, part.Columns), [], rows)]), cancellationToken));
        }

        return Task.WhenAll(tasks);
    }

    /// <summary>
    /// Writes copied rows with a plain insert. The copy reads each source once, in disjoint key ranges, so a key already
    /// in the target's table (or staging table) came from another source: two partitions hold rows with one primary key
    /// (or one value of another unique constraint), which the move would collapse into one row. It fails instead.
    /// </summary>
    private async Task CopyToAsync(MigrationTarget target, TablePart part, ApplyBatch batch, CancellationToken cancellationToken)
    {
        try
        {
            await Hosts(target.Name).ApplyAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        catch (ShardException ex) when (ex.Code == ShardErrorCode.ConflictUnique)
        {
            throw Collision(part, null, $"two of {string.Join(", ", Operation.Sources)}", ex.Message);
        }
    }

    /// <summary>The error of a move that would keep one of two rows with one primary key (nothing has changed yet).</summary>
    private ShardException Collision(TablePart part, SqlValue[]? key, string where, string? detail = null)
    {
        var keyText = key is null ? "one primary key (or one value of a UNIQUE constraint)" : $"primary key ({string.Join(", ", key.Select(k => k.ToString()))})";
        return new ShardException(
            ShardErrorCode.ConflictUnique,
            $"Rows of {part.Name} with {keyText} are in {where}: the {Operation.Kind} would keep only one of them, so it was not done and nothing changed. "
            + "Keep primary keys unique across partitions (include the shard key in them) and retry."
            + (detail is null ? string.Empty : $" ({detail})"));
    }

    /// <summary>Creates the staging table of a live target the first time rows of <paramref name="part"/> go there.</summary>
    private List<string> StageSetup(MigrationTarget target, TablePart part, string table)
    {
        var setup = new List<string>();
        if (target.Mode == TargetMode.Live && _stagesCreated.Add(target.Name + "/" + table))
        {
            setup.Add($"CREATE TABLE IF NOT EXISTS {ShardSql.Quote(table)} AS SELECT * FROM {ShardSql.Quote(part.Name)} WHERE 0");
            setup.Add($"CREATE UNIQUE INDEX IF NOT EXISTS {ShardSql.Quote(table + "_pk")} ON {ShardSql.Quote(table)}({part.PrimaryKeyList()})");
        }

        return setup;
    }

    /// <summary>One catch-up round over every source's tail; returns how many keys it re-synchronised.</summary>
    public async Task<int> CatchUpAsync(CancellationToken cancellationToken)
    {
        var round = new Round(this);
        var keys = 0;
        foreach (var source in Operation.Sources)
        {
            var host = Hosts(source);
            var changed = new Dictionary<string, Dictionary<string, SqlValue[]>>(StringComparer.OrdinalIgnoreCase);
            while (true)
            {
                var tail = await host.ReadTailAsync(_lastSequence[source], TailCommits, cancellationToken).ConfigureAwait(false);
                if (tail.SchemaChanged)
                {
                    throw new ShardException(ShardErrorCode.InvalidArgument, $"The schema of {source} changed during the operation; it was rolled back.");
                }

                foreach (var (table, tableKeys) in tail.Keys)
                {
                    if (Shape.Find(table) is null)
                    {
                        continue;
                    }

                    if (!changed.TryGetValue(table, out var set))
                    {
                        changed[table] = set = new Dictionary<string, SqlValue[]>(StringComparer.Ordinal);
                    }

                    foreach (var key in tableKeys)
                    {
                        set.TryAdd(KeyCodec.Encode(key), key);
                    }
                }

                _lastSequence[source] = tail.LastSequence;
                if (!tail.More)
                {
                    break;
                }
            }

            foreach (var part in Shape.Parts)
            {
                if (!changed.TryGetValue(part.Name, out var set) || set.Count == 0)
                {
                    continue;
                }

                var pks = set.Values.ToList();
                keys += pks.Count;
                var rows = await host.ReadRowsAsync(ShardSql.ByKey(part), pks, cancellationToken).ConfigureAwait(false);
                var elsewhere = await ElsewhereAsync(source, part, pks, cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < pks.Count; i++)
                {
                    var encoded = KeyCodec.Encode(pks[i]);
                    int? destination = null;
                    if (rows[i] is { } withKey)
                    {
                        destination = TargetIndexOf(withKey[0]);
                        if (elsewhere[i] is { } others && others.TryGetValue(destination.Value, out var other))
                        {
                            throw Collision(part, pks[i], $"{source} and {other}, both bound for {Operation.Targets[destination.Value].Name}");
                        }

                        if (Operation.Targets[destination.Value].Name != source)
                        {
                            round.Upsert(destination.Value, part, encoded, withKey[1..]);
                        }
                    }

                    for (var t = 0; t < Operation.Targets.Count; t++)
                    {
                        // Not where another source's row with this key goes: that row is not this one (gone from here).
                        if (t != destination && !(elsewhere[i]?.ContainsKey(t) ?? false))
                        {
                            round.Delete(t, part, encoded, pks[i]);
                        }
                    }

                    var moved = destination is { } d && Operation.Targets[d].Name != source;
                    TrackMoved(source, part, encoded, pks[i], moved);
                }
            }
        }

        await round.ApplyAsync(cancellationToken).ConfigureAwait(false);
        return keys;
    }

    /// <summary>
    /// For each key changed in <paramref name="source"/>: the targets the rows with that key in the other sources go to
    /// (target index → that source), or null when no other source holds it. Primary keys are meant to be unique across
    /// partitions; this is how a move finds out when they are not, rather than collapse two rows into one.
    /// </summary>
    private async Task<Dictionary<int, string>?[]> ElsewhereAsync(string source, TablePart part, List<SqlValue[]> pks, CancellationToken cancellationToken)
    {
        var found = new Dictionary<int, string>?[pks.Count];
        foreach (var other in Operation.Sources)
        {
            if (other == source)
            {
                continue;
            }

            var rows = await Hosts(other).ReadRowsAsync(ShardSql.ByKey(part), pks, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < pks.Count; i++)
            {
                if (rows[i] is { } withKey)
                {
                    (found[i] ??= [])[TargetIndexOf(withKey[0])] = other;
                }
            }
        }

        return found;
    }

    /// <summary>
    /// At the switch, on each live target (no write commits now): a row moving in whose primary key is also a row that
    /// stays there (not leaving for another shard) is a second row with that key. The move fails before it changes
    /// anything, instead of the arriving row replacing the staying one.
    /// </summary>
    public async Task CheckLiveTargetsAsync(CancellationToken cancellationToken)
    {
        foreach (var target in Operation.Targets.Where(t => t.Mode == TargetMode.Live))
        {
            var host = Hosts(target.Name);
            foreach (var part in Shape.Parts)
            {
                var stage = ShardSql.StageOf(part.Name);
                var deletes = ShardSql.DeletesOf(part.Name);
                var present = (await host.ReadInternalAsync("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)", [stage, deletes], cancellationToken).ConfigureAwait(false))
                    .Select(r => r[0].AsText).ToHashSet(StringComparer.Ordinal);
                if (!present.Contains(stage))
                {
                    continue;
                }

                string Match(string alias) => string.Join(" AND ", part.PrimaryKey.Select(i => $"{alias}.{ShardSql.Quote(part.Columns[i])} = s.{ShardSql.Quote(part.Columns[i])}"));
                var leaving = present.Contains(deletes) ? $" AND NOT EXISTS (SELECT 1 FROM {ShardSql.Quote(deletes)} d WHERE {Match("d")})" : string.Empty;
                var sql = $"SELECT {part.PrimaryKeyList("s")} FROM {ShardSql.Quote(stage)} s WHERE EXISTS (SELECT 1 FROM {ShardSql.Quote(part.Name)} t WHERE {Match("t")}){leaving} LIMIT 1";
                if ((await host.ReadInternalAsync(sql, [], cancellationToken).ConfigureAwait(false)) is [var key, ..])
                {
                    throw Collision(part, key, $"{target.Name} (a row that stays there) and another partition (a row moving there)");
                }
            }
        }
    }

    private int TargetIndexOf(SqlValue key) => Operation.Targets.Count == 1 ? 0 : Assigner.Assign(key);

    private void TrackMoved(string source, TablePart part, string encoded, SqlValue[] key, bool moved)
    {
        if (!IsLiveSource(source))
        {
            return;
        }

        if (!_moved.TryGetValue(source, out var byTable))
        {
            _moved[source] = byTable = new Dictionary<string, Dictionary<string, SqlValue[]>>(StringComparer.OrdinalIgnoreCase);
        }

        if (!byTable.TryGetValue(part.Name, out var keys))
        {
            byTable[part.Name] = keys = new Dictionary<string, SqlValue[]>(StringComparer.Ordinal);
        }

        if (moved)
        {
            keys[encoded] = key;
        }
        else
        {
            keys.Remove(encoded);
        }
    }

    /// <summary>The table a target's rows of <paramref name="part"/> are written to before the switch.</summary>
    private string WriteTable(MigrationTarget target, TablePart part) =>
        target.Mode == TargetMode.Live ? ShardSql.StageOf(part.Name) : part.Name;

    /// <summary>The writes of one round, per target; a key upserted to a target is never also deleted there.</summary>
    private sealed class Round(ShardMigration migration)
    {
        private readonly Dictionary<int, Dictionary<TablePart, (Dictionary<string, SqlValue[]> Deletes, Dictionary<string, SqlValue[]> Upserts)>> _writes = [];

        public void Upsert(int target, TablePart part, string encoded, SqlValue[] row)
        {
            var (deletes, upserts) = For(target, part);
            deletes.Remove(encoded);
            upserts[encoded] = row;
        }

        public void Delete(int target, TablePart part, string encoded, SqlValue[] key)
        {
            var (deletes, upserts) = For(target, part);
            if (!upserts.ContainsKey(encoded))
            {
                deletes[encoded] = key;
            }
        }

        public async Task ApplyAsync(CancellationToken cancellationToken)
        {
            var tasks = new List<Task>();
            foreach (var (index, byPart) in _writes)
            {
                var target = migration.Operation.Targets[index];
                var setup = new List<string>();
                var writes = new List<TableWrite>();

                foreach (var part in migration.Shape.Parts)
                {
                    if (!byPart.TryGetValue(part, out var w) || (w.Deletes.Count == 0 && w.Upserts.Count == 0))
                    {
                        continue;
                    }

                    var table = migration.WriteTable(target, part);
                    setup.AddRange(migration.StageSetup(target, part, table));

                    migration.RowsWritten += w.Upserts.Count;
                    writes.Add(new TableWrite(ShardSql.DeleteByKey(table, part), ShardSql.UpsertByKey(table, part), [.. w.Deletes.Values], [.. w.Upserts.Values]));
                }

                var batch = new ApplyBatch(setup, writes);
                if (!batch.IsEmpty)
                {
                    tasks.Add(migration.Hosts(target.Name).ApplyAsync(batch, cancellationToken));
                }
            }

            await Task.WhenAll(tasks).ConfigureAwait(false);
            _writes.Clear();
        }

        private (Dictionary<string, SqlValue[]> Deletes, Dictionary<string, SqlValue[]> Upserts) For(int target, TablePart part)
        {
            if (!_writes.TryGetValue(target, out var byPart))
            {
                _writes[target] = byPart = [];
            }

            if (!byPart.TryGetValue(part, out var w))
            {
                byPart[part] = w = (new(StringComparer.Ordinal), new(StringComparer.Ordinal));
            }

            return w;
        }
    }
}

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
            tasks.Add(Hosts(target.Name).ApplyAsync(
                new ApplyBatch(StageSetup(target, part, table), [new TableWrite(string.Empty, ShardSql.Upsert(table, part.Columns), [], rows)]),
                cancellationToken));
        }

        return Task.WhenAll(tasks);
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
                for (var i = 0; i < pks.Count; i++)
                {
                    var encoded = KeyCodec.Encode(pks[i]);
                    int? destination = null;
                    if (rows[i] is { } withKey)
                    {
                        destination = TargetIndexOf(withKey[0]);
                        if (Operation.Targets[destination.Value].Name != source)
                        {
                            round.Upsert(destination.Value, part, encoded, withKey[1..]);
                        }
                    }

                    for (var t = 0; t < Operation.Targets.Count; t++)
                    {
                        if (t != destination)
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
                    writes.Add(new TableWrite(ShardSql.DeleteByKey(table, part), ShardSql.Upsert(table, part.Columns), [.. w.Deletes.Values], [.. w.Upserts.Values]));
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

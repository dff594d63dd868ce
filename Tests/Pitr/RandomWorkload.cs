using System.Globalization;

namespace OrleansShards.Tests.Pitr;

/// <summary>
/// A seeded random workload of inserts, updates, deletes, batches, concurrent bursts (group commits with a
/// failing member) and DDL — ALTER TABLE ADD COLUMN with a default, CREATE INDEX, CREATE TABLE, CREATE TABLE
/// AS SELECT random() (non-deterministic DDL), DDL holding an INSERT, DROP TABLE with rows, a trigger, a
/// foreign key with ON DELETE CASCADE, AUTOINCREMENT and a table without a primary key. After every step it
/// records the content dump of the shard at its current sequence; a burst may commit in more than one
/// transaction (group commit coalesces what arrives together), so the sequences inside a burst have no state.
/// </summary>
internal sealed class RandomWorkload(ITableShard shard, int seed, string table)
{
    private readonly Random _random = new(seed);
    private readonly List<string> _extraTables = [];
    private int _addedColumns;
    private int _created;
    private long _nextItem = 1;

    /// <summary>Content dump by sequence.</summary>
    public Dictionary<long, string> States { get; } = [];

    public long Sequence { get; private set; }

    /// <summary>The sequence once every table of the workload exists.</summary>
    public long SetupSequence { get; private set; }

    public async Task SetupAsync()
    {
        // Before the first DDL the table does not exist (reads answer NOT_FOUND); its state at commit 0 is the empty one.
        Sequence = 0;
        States[0] = ShardContent.Empty();
        await Ddl($"CREATE TABLE {table}(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, qty INTEGER, price REAL, data BLOB)");
        await Ddl("CREATE TABLE notes(body TEXT, n INTEGER)");
        await Ddl("CREATE TABLE audit(id INTEGER PRIMARY KEY, item_id INTEGER, qty INTEGER)");
        await Ddl($"CREATE TRIGGER audit_insert AFTER INSERT ON {table} BEGIN INSERT INTO audit(item_id, qty) VALUES (new.id, new.qty); END");
        await Ddl("CREATE TABLE fixed(id INTEGER PRIMARY KEY); INSERT INTO fixed(id) VALUES (1)");
        await Ddl($"CREATE TABLE child(id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES {table}(id) ON DELETE CASCADE, v TEXT)");
        await RecordAsync();
        SetupSequence = Sequence;
    }

    /// <summary>Runs until the shard's sequence grew by <paramref name="commits"/>.</summary>
    public async Task RunAsync(int commits)
    {
        var until = Sequence + commits;
        while (Sequence < until)
        {
            await StepAsync();
            await RecordAsync();
        }
    }

    public async Task RecordAsync()
    {
        var bookmark = await shard.GetBookmarkAsync(new BookmarkRequest());
        Sequence = Bookmark.Parse(bookmark.Bookmark).Sequence;
        States[Sequence] = await ShardContent.DumpAsync(shard);
    }

    private async Task StepAsync()
    {
        var roll = _random.Next(100);
        switch (roll)
        {
            case < 30:
                await InsertItem();
                break;
            case < 40:
                await Mutate("INSERT INTO notes(body, n) VALUES (?, ?)", Text(), _random.Next(1000));
                break;
            case < 52:
                await Mutate($"UPDATE {table} SET qty = qty + ?, price = ? WHERE id % 5 = ?", _random.Next(1, 9), _random.NextDouble() * 100, _random.Next(5));
                break;
            case < 58:
                await Mutate("UPDATE notes SET n = n * 2, body = ? WHERE rowid = ?", Text(), _random.Next(1, 30));
                break;
            case < 66:
                await Mutate($"DELETE FROM {table} WHERE id = ?", _random.NextInt64(1, _nextItem + 1));
                break;
            case < 70:
                await Mutate("DELETE FROM notes WHERE n % 7 = ?", _random.Next(7));
                break;
            case < 76:
                await Mutate("INSERT INTO child(item_id, v) SELECT id, ? FROM " + table + " ORDER BY random() LIMIT 2", Text());
                break;
            case < 84:
                await shard.BatchAsync(new BatchRequest([
                    new Statement($"INSERT INTO {table}(name, qty, price, data) VALUES (?, ?, ?, ?)", [Text(), _random.Next(100), 1.5, Blob()]),
                    new Statement("UPDATE notes SET body = ? WHERE rowid % 3 = 0", [Text()]),
                    new Statement($"DELETE FROM {table} WHERE qty > ?", [_random.Next(60, 200)]),
                ]));
                _nextItem++;
                break;
            case < 90:
                await BurstAsync();
                break;
            default:
                await RandomDdlAsync();
                break;
        }
    }

    private async Task BurstAsync()
    {
        // Concurrent mutations share group commits; the duplicate id fails in its own savepoint.
        var tasks = new List<Task>();
        for (var i = 0; i < 5; i++)
        {
            tasks.Add(InsertItem());
        }

        // A batch whose first statement succeeds and second fails: its savepoint is rolled back, and the
        // changeset of the group must not keep the first statement's row.
        tasks.Add(Expect(ShardErrorCode.ConflictUnique, shard.BatchAsync(new BatchRequest([
            new Statement("INSERT INTO notes(body, n) VALUES ('ghost', -1)"),
            new Statement("INSERT INTO fixed(id) VALUES (1)"),
        ]))));
        await Task.WhenAll(tasks);
    }

    private async Task RandomDdlAsync()
    {
        var choice = _random.Next(6);
        if (choice == 4)
        {
            // A restore may have moved the shard to a state holding other tables than this workload created since.
            await RefreshExtraTablesAsync();
        }

        switch (choice)
        {
            case 0:
                _addedColumns++;
                await Ddl($"ALTER TABLE {table} ADD COLUMN c{_addedColumns} INTEGER DEFAULT {_random.Next(100)}");
                break;
            case 1:
                await Ddl($"CREATE INDEX IF NOT EXISTS ix_{table}_qty_{_random.Next(3)} ON {table}(qty)");
                break;
            case 2:
                var name = "t" + (++_created).ToString(CultureInfo.InvariantCulture);
                await Ddl($"CREATE TABLE {name}(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO {name}(v) VALUES ('seeded by ddl')");
                await Mutate($"INSERT INTO {name}(v) VALUES (?)", Text());
                _extraTables.Add(name);
                break;
            case 3:
                var copy = "r" + (++_created).ToString(CultureInfo.InvariantCulture);
                await Ddl($"CREATE TABLE {copy} AS SELECT id, qty, random() AS r FROM {table}");
                _extraTables.Add(copy);
                break;
            case 4 when _extraTables.Count > 0:
                var drop = _extraTables[_random.Next(_extraTables.Count)];
                _extraTables.Remove(drop);
                await Ddl($"DROP TABLE {drop}");
                break;
            default:
                await Ddl($"ALTER TABLE notes ADD COLUMN x{++_created} TEXT DEFAULT 'd'");
                break;
        }
    }

    private async Task RefreshExtraTablesAsync()
    {
        var tables = await shard.QueryAsync(new QueryRequest(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND (name GLOB 't[0-9]*' OR name GLOB 'r[0-9]*') ORDER BY CAST(substr(name, 2) AS INTEGER)"));
        _extraTables.Clear();
        _extraTables.AddRange(tables.Rows.Select(r => r[0].AsText));
    }

    private async Task InsertItem()
    {
        Interlocked.Increment(ref _nextItem);
        await Mutate($"INSERT INTO {table}(name, qty, price, data) VALUES (?, ?, ?, ?)", Text(), _random.Next(100), _random.NextDouble() * 1000, Blob());
    }

    private Task<DdlResult> Ddl(string sql) => shard.DdlAsync(new DdlRequest(sql));

    private Task<MutationResult> Mutate(string sql, params SqlValue[] args) => shard.MutateAsync(new MutationRequest(sql, args));

    private static async Task Expect(ShardErrorCode code, Task task)
    {
        var error = await Assert.ThrowsAsync<ShardException>(() => task);
        Assert.Equal(code, error.Code);
    }

    private string Text() => _random.Next(10) == 0 ? null! : "v" + _random.Next(100000).ToString(CultureInfo.InvariantCulture);

    private byte[]? Blob()
    {
        if (_random.Next(4) == 0)
        {
            return null;
        }

        var bytes = new byte[_random.Next(0, 24)];
        _random.NextBytes(bytes);
        return bytes;
    }
}

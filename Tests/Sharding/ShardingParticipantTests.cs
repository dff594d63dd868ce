using Microsoft.Extensions.Logging.Abstractions;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Sharding;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Writes;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Sharding;

/// <summary>
/// One file's side of a split or merge (<see cref="ShardingParticipant"/>) as a plain class over a real SQLite file,
/// its writer and its reader pool, without a silo.
/// </summary>
public sealed class ShardingParticipantTests : IAsyncDisposable
{
    private readonly TempDirectory _dir = new("participant");
    private readonly ShardConnection _connection;
    private readonly ShardWriter _writer;
    private readonly ReaderPool _readers;
    private readonly ShardingParticipant _participant;

    public ShardingParticipantTests()
    {
        var path = _dir.Combine("orders.db");
        _connection = new ShardConnection(path, readOnly: false, planCacheSize: 8);
        _connection.Execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;");
        ShardSchema.Migrate(_connection);
        _connection.Execute(
            "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT NOT NULL);" +
            "CREATE TABLE lines(id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders(id), qty INTEGER);" +
            "CREATE INDEX lines_order ON lines(order_id);" +
            "CREATE TABLE notes(body TEXT);");
        _writer = new ShardWriter(_connection, new TableShardOptions(), TimeProvider.System, NullLogger.Instance, new PreupdateChangeCapture());
        _readers = new ReaderPool(2, () => ValueTask.FromResult(new ShardConnection(path, readOnly: true, planCacheSize: 8)), c => c.Dispose());
        _participant = new ShardingParticipant("t1:orders", _readers, _writer);
    }

    public async ValueTask DisposeAsync()
    {
        await _writer.DisposeAsync();
        _readers.Dispose();
        _connection.Dispose();
        _dir.Dispose();
    }

    private static TableWrite Upserts(string table, params SqlValue[][] rows) =>
        new(string.Empty, $"INSERT OR REPLACE INTO {table} VALUES ({string.Join(", ", rows[0].Select(_ => "?"))})", [], [.. rows]);

    private static SqlValue[] Row(params object?[] values) => [.. values.Select(v => v switch
    {
        null => SqlValue.Null,
        long l => SqlValue.FromInteger(l),
        int i => SqlValue.FromInteger(i),
        string s => SqlValue.FromText(s),
        _ => throw new ArgumentException(v.GetType().Name),
    })];

    private async Task<List<string>> RowsAsync(string sql) =>
        [.. (await _participant.ReadInternalAsync(sql, [], CancellationToken.None)).Select(r => string.Join("|", r.Select(Format)))];

    private static string Format(SqlValue value) => value.Kind switch
    {
        SqlValueKind.Integer => value.AsInteger.ToString(System.Globalization.CultureInfo.InvariantCulture),
        SqlValueKind.Text => value.AsText,
        _ => value.Kind.ToString(),
    };

    [Fact]
    public async Task A_table_is_described_with_its_children_by_foreign_key_and_the_schema_to_recreate_it()
    {
        var shape = await _participant.DescribeAsync("ORDERS", "customer", null, CancellationToken.None);

        Assert.Equal("orders", shape.Table);
        Assert.Equal(["orders", "lines"], shape.Parts.Select(p => p.Name));
        Assert.Equal([0], shape.Parent.PrimaryKey);
        Assert.Contains("LEFT JOIN \"orders\" AS p ON", shape.Parts[1].SelectWithKey, StringComparison.Ordinal);
        Assert.Equal(3, shape.TableSchema.Count(s => s.StartsWith("CREATE TABLE", StringComparison.Ordinal)));
        Assert.Contains(shape.TableSchema, s => s.StartsWith("CREATE INDEX lines_order", StringComparison.Ordinal));

        var missing = await Assert.ThrowsAsync<ShardException>(() => _participant.DescribeAsync("nope", "id", null, CancellationToken.None));
        var noColumn = await Assert.ThrowsAsync<ShardException>(() => _participant.DescribeAsync("orders", "region", null, CancellationToken.None));
        var noKey = await Assert.ThrowsAsync<ShardException>(() => _participant.DescribeAsync("notes", "body", null, CancellationToken.None));
        Assert.Equal(ShardErrorCode.NotFound, missing.Code);
        Assert.Equal(ShardErrorCode.InvalidArgument, noColumn.Code);
        Assert.Equal(ShardErrorCode.InvalidArgument, noKey.Code);
        Assert.Contains("PRIMARY KEY", noKey.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Moved_rows_are_written_through_the_log_and_the_tail_names_each_changed_key_once_and_the_schema_changes()
    {
        var before = _writer.Sequence;
        await _participant.ApplyAsync(new ApplyBatch([], [Upserts("orders", Row(1, "acme"), Row(2, "globex"))]), CancellationToken.None);
        await _participant.ApplyAsync(new ApplyBatch([], [Upserts("orders", Row(1, "acme2")), Upserts("lines", Row(10, 1, 3))]), CancellationToken.None);
        await _writer.EnqueueAsync(new WriteWork(WriteKind.Ddl, [new Statement("CREATE INDEX orders_customer ON orders(customer)")]));

        Assert.Equal(before + 3, _writer.Sequence);
        Assert.Equal(2, await _participant.CountRowsAsync("Orders", CancellationToken.None));
        Assert.Equal(0, await _participant.CountRowsAsync("absent", CancellationToken.None));

        var first = await _participant.ReadTailAsync(before, maxCommits: 1, CancellationToken.None);
        Assert.True(first.More);
        Assert.Equal(before + 1, first.LastSequence);
        Assert.False(first.SchemaChanged);

        var all = await _participant.ReadTailAsync(before, maxCommits: 10, CancellationToken.None);
        Assert.False(all.More);
        Assert.Equal(before + 3, all.LastSequence);
        Assert.True(all.SchemaChanged);
        Assert.Equal([1L, 2L], all.Keys["orders"].Select(k => k[0].AsInteger).Order());
        Assert.Equal([10L], all.Keys["lines"].Select(k => k[0].AsInteger));
    }

    [Fact]
    public async Task Staged_rows_and_recorded_deletes_are_merged_by_FinishMove_and_staging_is_dropped_otherwise()
    {
        await _participant.ApplyAsync(new ApplyBatch([], [Upserts("orders", Row(1, "a"), Row(2, "b"), Row(3, "c"))]), CancellationToken.None);
        var stage = ShardSql.Quote(ShardSql.StageOf("orders"));
        var deletes = ShardSql.Quote(ShardSql.DeletesOf("orders"));
        await _participant.ApplyAsync(
            new ApplyBatch(
                [$"CREATE TABLE {stage} AS SELECT * FROM orders WHERE 0", $"CREATE TABLE {deletes} AS SELECT id FROM orders WHERE 0"],
                [Upserts(stage, Row(2, "b2"), Row(4, "d")), Upserts(deletes, Row(3))]),
            CancellationToken.None);

        // Until the move finishes, the table is untouched.
        Assert.Equal(["1|a", "2|b", "3|c"], await RowsAsync("SELECT id, customer FROM orders ORDER BY id"));

        await _participant.FinishMoveAsync(["orders"], CancellationToken.None);
        Assert.Equal(["1|a", "2|b2", "4|d"], await RowsAsync("SELECT id, customer FROM orders ORDER BY id"));
        Assert.Empty(await RowsAsync("SELECT name FROM sqlite_master WHERE name LIKE '\\_mv%' ESCAPE '\\'"));

        // Finishing again changes nothing; a staging table left by an abandoned move is dropped; truncate empties.
        await _participant.FinishMoveAsync(["orders"], CancellationToken.None);
        await _participant.ApplyAsync(new ApplyBatch([$"CREATE TABLE {stage} AS SELECT * FROM orders WHERE 0"], [Upserts(stage, Row(9, "z"))]), CancellationToken.None);
        await _participant.DropStagingAsync(["orders"], CancellationToken.None);
        Assert.Equal(["1|a", "2|b2", "4|d"], await RowsAsync("SELECT id, customer FROM orders ORDER BY id"));
        Assert.Empty(await RowsAsync("SELECT name FROM sqlite_master WHERE name LIKE '\\_mv%' ESCAPE '\\'"));

        await _participant.TruncateAsync(["orders", "absent"], CancellationToken.None);
        Assert.Equal(0, await _participant.CountRowsAsync("orders", CancellationToken.None));
    }

    [Fact]
    public async Task Rows_are_read_by_key_in_the_order_asked_with_null_for_a_key_not_there()
    {
        await _participant.ApplyAsync(new ApplyBatch([], [Upserts("orders", Row(1, "a"), Row(2, "b"))]), CancellationToken.None);

        var rows = await _participant.ReadRowsAsync("SELECT id, customer FROM orders WHERE id = ?", [Row(2), Row(7), Row(1)], CancellationToken.None);

        Assert.Equal("b", rows[0]![1].AsText);
        Assert.Null(rows[1]);
        Assert.Equal("a", rows[2]![1].AsText);
    }
}

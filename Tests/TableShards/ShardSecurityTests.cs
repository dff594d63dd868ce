using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.TableShards;

/// <summary>Attacks through <see cref="ITableShard"/> that <c>ShardSecurity</c> (authorizer, defensive mode, limits) must stop.</summary>
[Collection(ShardHostCollection.Name)]
public sealed class ShardSecurityTests(ShardHostFixture fixture)
{
    private async Task<ITableShard> ItemsAsync()
    {
        var shard = fixture.NewShard();
        await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT)"));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES ('a')"));
        return shard;
    }

    private static async Task DeniedAsync(ITableShard shard, string sql)
    {
        var asMutation = await Assert.ThrowsAsync<ShardException>(() => shard.MutateAsync(new MutationRequest(sql)));
        Assert.True(asMutation.Code is ShardErrorCode.SqlError or ShardErrorCode.InvalidArgument, $"{sql}: {asMutation.Code} {asMutation.Message}");
        var asQuery = await Assert.ThrowsAsync<ShardException>(() => shard.QueryAsync(new QueryRequest(sql)));
        Assert.True(asQuery.Code is ShardErrorCode.SqlError or ShardErrorCode.InvalidArgument, $"{sql}: {asQuery.Code} {asQuery.Message}");
    }

    [Fact]
    public async Task Apply_denies_attach_and_vacuum_into_when_tenant_writes_another_file()
    {
        var shard = await ItemsAsync();
        var target = Path.Combine(Path.GetTempPath(), "orleansshards-attack-" + Guid.NewGuid().ToString("N") + ".db");

        await DeniedAsync(shard, $"ATTACH DATABASE '{target}' AS x");
        await DeniedAsync(shard, $"VACUUM INTO '{target}'");
        await DeniedAsync(shard, "VACUUM");
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.DdlAsync(new DdlRequest($"ATTACH DATABASE '{target}' AS x")));
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.DdlAsync(new DdlRequest($"VACUUM INTO '{target}'")));

        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task Apply_denies_extension_loading_when_tenant_calls_load_extension()
    {
        var shard = await ItemsAsync();
        await DeniedAsync(shard, "SELECT load_extension('/lib/x86_64-linux-gnu/libc.so.6')");
        await DeniedAsync(shard, "SELECT load_extension('libc.so.6', 'puts')");
    }

    [Fact]
    public async Task Apply_denies_pragmas_when_they_change_settings()
    {
        var shard = await ItemsAsync();
        await DeniedAsync(shard, "PRAGMA writable_schema = 1");
        await DeniedAsync(shard, "PRAGMA journal_mode = DELETE");
        await DeniedAsync(shard, "PRAGMA max_page_count = 100000000");
        await DeniedAsync(shard, "PRAGMA foreign_keys = OFF");
        await DeniedAsync(shard, "PRAGMA synchronous = OFF");
        await DeniedAsync(shard, "PRAGMA user_version = 7");
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.DdlAsync(new DdlRequest("PRAGMA writable_schema = 1")));

        var journal = await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM items"));
        Assert.Equal(1, journal.Rows[0][0].AsInteger);
    }

    [Fact]
    public async Task Apply_allows_table_info_when_pragma_reads_a_tenant_table()
    {
        var shard = await ItemsAsync();
        var info = await shard.QueryAsync(new QueryRequest("PRAGMA table_info(items)"));
        Assert.Equal(["id", "name"], info.Rows.Select(r => r[1].AsText));
        var count = await shard.QueryAsync(new QueryRequest("PRAGMA page_count"));
        Assert.True(count.Rows[0][0].AsInteger > 0);
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.QueryAsync(new QueryRequest("PRAGMA table_info(_meta)")));
    }

    [Theory]
    [InlineData("_meta")]
    [InlineData("_changes")]
    [InlineData("_idempotency")]
    public async Task Apply_denies_internal_tables_when_tenant_reads_or_writes_them(string table)
    {
        var shard = await ItemsAsync();
        await DeniedAsync(shard, $"SELECT * FROM {table}");
        await DeniedAsync(shard, $"SELECT count(*) FROM {table}");
        await DeniedAsync(shard, $"INSERT INTO {table} DEFAULT VALUES");
        await DeniedAsync(shard, $"UPDATE {table} SET rowid = rowid");
        await DeniedAsync(shard, $"DELETE FROM {table}");
        await DeniedAsync(shard, $"SELECT * FROM items WHERE id IN (SELECT 1 FROM {table})");
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.DdlAsync(new DdlRequest($"DROP TABLE {table}")));
    }

    [Fact]
    public async Task Apply_denies_a_tenant_statement_when_its_text_equals_an_internal_statement()
    {
        var shard = await ItemsAsync();
        var before = await shard.GetStatsAsync();
        const string internalUpdate = "UPDATE _meta SET value = ? WHERE key = 'commit:seq'";
        const string internalRead = "SELECT value FROM _meta WHERE key = 'commit:seq'";

        // The writer has run (and cached) exactly these texts for its own commits by now.
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.MutateAsync(new MutationRequest(internalUpdate, [1_000_000])));
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.MutateAsync(new MutationRequest(internalRead)));
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.QueryAsync(new QueryRequest(internalRead)));
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.BatchAsync(new BatchRequest([new Statement(internalUpdate, [1_000_000])])));

        // The engine's own copy still works: the next commit advances the sequence by one.
        var next = await shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES ('b')"));
        Assert.Equal(Bookmark.Parse(before.Bookmark!).Sequence + 1, Bookmark.Parse(next.Bookmark!).Sequence);
    }

    [Theory]
    [InlineData("BEGIN")]
    [InlineData("BEGIN IMMEDIATE")]
    [InlineData("COMMIT")]
    [InlineData("ROLLBACK")]
    [InlineData("SAVEPOINT w")]
    [InlineData("RELEASE w")]
    [InlineData("ROLLBACK TO w")]
    public async Task Apply_denies_transaction_control_when_sent_as_a_mutation(string sql)
    {
        var shard = await ItemsAsync();
        await Assert.ThrowsAsync<ShardException>(() => shard.MutateAsync(new MutationRequest(sql)));
        await Assert.ThrowsAsync<ShardException>(() => shard.BatchAsync(new BatchRequest(
            [new Statement("INSERT INTO items(name) VALUES ('in batch')"), new Statement(sql)])));
        await Assert.ThrowsAsync<ShardException>(() => shard.DdlAsync(new DdlRequest(sql)));
        Assert.Equal(1, await ShardAssert.CountAsync(shard));
    }

    [Fact]
    public async Task Apply_allows_create_table_only_when_sent_as_ddl()
    {
        var shard = await ItemsAsync();
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.MutateAsync(new MutationRequest("CREATE TABLE other(x)")));
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.MutateAsync(new MutationRequest("DROP TABLE items")));
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.MutateAsync(new MutationRequest("CREATE INDEX i ON items(name)")));

        await shard.DdlAsync(new DdlRequest("CREATE TABLE other(x); CREATE INDEX other_x ON other(x)"));

        await shard.MutateAsync(new MutationRequest("INSERT INTO other(x) VALUES (1)"));
        Assert.Equal(1, await ShardAssert.CountAsync(shard, "other"));
    }

    [Theory]
    [InlineData("CREATE TABLE _x(a)")]
    [InlineData("CREATE TABLE \"_x\"(a)")]
    [InlineData("CREATE INDEX _i ON items(name)")]
    [InlineData("CREATE VIEW _v AS SELECT 1")]
    [InlineData("CREATE TRIGGER _t AFTER INSERT ON items BEGIN SELECT 1; END")]
    [InlineData("ALTER TABLE items RENAME TO _x")]
    [InlineData("CREATE TEMP TABLE x(a)")]
    [InlineData("CREATE TRIGGER t AFTER INSERT ON _meta BEGIN SELECT 1; END")]
    [InlineData("CREATE TABLE c(x REFERENCES _outbox(payload))")]
    [InlineData("CREATE TABLE c(x, FOREIGN KEY (x) REFERENCES _idempotency(outcome))")]
    public async Task Apply_denies_ddl_when_it_creates_an_internal_name(string ddl)
    {
        var shard = await ItemsAsync();
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.DdlAsync(new DdlRequest(ddl)));
        var names = await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM sqlite_schema WHERE name = 'items'"));
        Assert.Equal(1, names.Rows[0][0].AsInteger);

        // Nothing of it stayed, and the shard still commits (a foreign key to an engine table would fail every commit).
        var others = await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM sqlite_schema WHERE name IN ('c', 'x', '_x')"));
        Assert.Equal(0, others.Rows[0][0].AsInteger);
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES ('after')", IdempotencyKey: "after-" + Guid.NewGuid().ToString("N")));
    }

    [Fact]
    public async Task Apply_denies_internal_reads_when_a_tenant_view_reaches_them()
    {
        var shard = await ItemsAsync();
        await shard.DdlAsync(new DdlRequest("CREATE VIEW peek AS SELECT * FROM _idempotency"));

        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.QueryAsync(new QueryRequest("SELECT * FROM peek")));
        Assert.Equal(1, await ShardAssert.CountAsync(shard));
    }

    /// <summary>
    /// SQLite asks the authorizer about a trigger's body only when a statement that fires it is compiled: such a trigger
    /// used to be accepted and then fail every write of its table. It is refused by the DDL that creates it.
    /// </summary>
    [Theory]
    [InlineData("CREATE TRIGGER sneaky AFTER INSERT ON items BEGIN UPDATE _meta SET value = 0; END")]
    [InlineData("CREATE TRIGGER sneaky AFTER UPDATE OF name ON items BEGIN DELETE FROM _changes; END")]
    [InlineData("CREATE TRIGGER sneaky BEFORE DELETE ON items BEGIN DELETE FROM _outbox; END")]
    [InlineData("CREATE VIEW v AS SELECT * FROM items; CREATE TRIGGER sneaky INSTEAD OF INSERT ON v BEGIN DELETE FROM _idempotency; END")]
    public async Task Apply_denies_a_trigger_whose_body_reaches_engine_tables_when_it_is_created(string ddl)
    {
        var shard = await ItemsAsync();
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.DdlAsync(new DdlRequest(ddl)));
        var left = await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM sqlite_schema WHERE name IN ('sneaky', 'v')"));
        Assert.Equal(0, left.Rows[0][0].AsInteger);

        // The table's writes still run, and a trigger that stays within the tenant's tables is accepted.
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES ('b')"));
        await shard.MutateAsync(new MutationRequest("UPDATE items SET name = 'c' WHERE name = 'b'"));
        await shard.MutateAsync(new MutationRequest("DELETE FROM items WHERE name = 'c'"));
        await shard.DdlAsync(new DdlRequest("CREATE TABLE audit(n TEXT); CREATE TRIGGER kept AFTER INSERT ON items BEGIN INSERT INTO audit VALUES (new.name); END"));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES ('d')"));
        var audit = await shard.QueryAsync(new QueryRequest("SELECT n FROM audit"));
        Assert.Equal(SqlValue.FromText("d"), audit.Rows[0][0]);
    }

    [Theory]
    [InlineData("..")]
    [InlineData("../x")]
    [InlineData("a/b")]
    [InlineData("%2e%2e")]
    [InlineData("tén")]
    [InlineData("a\\b")]
    [InlineData("")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public async Task Activation_raises_invalid_argument_when_tenant_or_table_name_is_unsafe(string name)
    {
        var before = Directory.GetFileSystemEntries(fixture.Host.DataDirectory, "*", SearchOption.AllDirectories).ToHashSet();

        foreach (var key in new[] { name + ":items", "ok:" + name })
        {
            // A typed activation error reaches an in-process caller as itself, as it does over HTTP.
            var shard = fixture.Host.Grains.GetGrain<ITableShard>(key);
            var failure = await Assert.ThrowsAsync<ShardException>(() => shard.DdlAsync(new DdlRequest("CREATE TABLE items(x)")));
            Assert.Equal(ShardErrorCode.InvalidArgument, failure.Code);
        }

        Assert.Throws<ShardException>(() => ShardName.Format(name, "items"));
        Assert.Subset(before, Directory.GetFileSystemEntries(fixture.Host.DataDirectory, "*", SearchOption.AllDirectories).ToHashSet());
        var dataDirectory = fixture.Host.DataDirectory;
        foreach (var path in new[] { Path.Combine(dataDirectory, name, "items.db"), Path.Combine(dataDirectory, "ok", name + ".db"), Path.Combine(dataDirectory, name + ".db") })
        {
            Assert.False(File.Exists(Path.GetFullPath(path)), path);
        }
    }
}

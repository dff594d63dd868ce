using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.TableShards;

[Collection(ShardHostCollection.Name)]
public sealed partial class TableShardGrainTests(ShardHostFixture fixture)
{
    private const string ItemsDdl = "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, qty INTEGER CHECK(qty >= 0))";

    private async Task<ITableShard> ItemsAsync()
    {
        var shard = fixture.NewShard();
        await shard.DdlAsync(new DdlRequest(ItemsDdl));
        return shard;
    }

    private static Task<MutationResult> InsertAsync(ITableShard shard, string name, long qty = 1, string? key = null) =>
        shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, ?)", [name, qty], IdempotencyKey: key));

    [Fact]
    public async Task BatchAsync_applies_nothing_when_a_later_statement_violates_unique()
    {
        var shard = await ItemsAsync();
        await InsertAsync(shard, "taken");

        var error = await ShardAssert.FailsWith(ShardErrorCode.ConflictUnique, () => shard.BatchAsync(new BatchRequest(
        [
            new Statement("INSERT INTO items(name, qty) VALUES ('a', 1)"),
            new Statement("UPDATE items SET qty = 99 WHERE name = 'taken'"),
            new Statement("INSERT INTO items(name, qty) VALUES ('taken', 2)"),
        ])));

        Assert.StartsWith("Statement 2:", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, (await shard.GetStatsAsync()).RowsWritten); // regression: rolled-back rows were counted as written
        Assert.Equal(1, await ShardAssert.CountAsync(shard));
        var qty = await shard.QueryAsync(new QueryRequest("SELECT qty FROM items WHERE name = 'taken'"));
        Assert.Equal(1, qty.Rows[0][0].AsInteger);
    }

    [Fact]
    public async Task BatchAsync_returns_every_result_when_all_statements_succeed()
    {
        var shard = await ItemsAsync();
        var result = await shard.BatchAsync(new BatchRequest(
        [
            new Statement("INSERT INTO items(name, qty) VALUES (?, ?)", ["a", 1]),
            new Statement("INSERT INTO items(name, qty) VALUES (?, ?)", ["b", 2]),
            new Statement("UPDATE items SET qty = qty + 1"),
        ]));

        Assert.Equal([1L, 1L, 2L], result.Results.Select(r => r.Changes));
        Assert.Equal(2, result.Results[1].LastInsertRowId);
        Assert.NotNull(result.Bookmark);
    }

    [Fact]
    public async Task TransactionAsync_commits_queued_statements_atomically_when_committed()
    {
        var shard = await ItemsAsync();
        var begin = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Begin));
        Assert.NotNull(begin.ExpiresAtUnixMs);

        var queued = await shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, ?)", ["a", 1], begin.TransactionId));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, ?)", ["b", 2], begin.TransactionId));
        Assert.True(queued.Queued);
        Assert.Equal(0, await ShardAssert.CountAsync(shard));

        var commit = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, begin.TransactionId));

        Assert.Equal(2, commit.Results!.Count);
        Assert.NotNull(commit.Bookmark);
        Assert.Equal(2, await ShardAssert.CountAsync(shard));
    }

    [Fact]
    public async Task TransactionAsync_bounds_the_memory_queued_per_transaction_and_per_shard()
    {
        var shard = await ItemsAsync();
        var megabyte = new string('m', 512 * 1024); // 1 MiB of UTF-16 text
        async Task QueueAsync(string transaction, int i) =>
            await shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, ?)", [megabyte + i, i], TransactionId: transaction));

        // One transaction: 7 values of ~1 MiB fit, the 8th passes its 8 MiB.
        var big = (await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Begin))).TransactionId!;
        for (var i = 0; i < 7; i++)
        {
            await QueueAsync(big, i);
        }

        await ShardAssert.FailsWith(ShardErrorCode.PayloadTooLarge, () => QueueAsync(big, 7));

        // The shard: four more transactions of 7 MiB reach its 32 MiB; the next statement is refused, retryable.
        var others = new List<string>();
        ShardException? refused = null;
        for (var t = 0; t < 4 && refused is null; t++)
        {
            var id = (await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Begin))).TransactionId!;
            others.Add(id);
            for (var i = 0; i < 7 && refused is null; i++)
            {
                try
                {
                    await QueueAsync(id, 100 * t + i);
                }
                catch (ShardException ex)
                {
                    refused = ex;
                }
            }
        }

        Assert.NotNull(refused);
        Assert.Equal(ShardErrorCode.Overloaded, refused.Code);
        Assert.True(refused.Retryable);

        // Rolling one back frees its share: queuing works again, and a commit applies what was queued.
        await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Rollback, big));
        await QueueAsync(others[^1], 999);
        await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, others[0]));
        Assert.Equal(7, await ShardAssert.CountAsync(shard));
    }

    [Fact]
    public async Task TransactionAsync_applies_nothing_when_a_queued_statement_fails_at_commit()
    {
        var shard = await ItemsAsync();
        await InsertAsync(shard, "taken");
        var begin = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Begin));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES ('fresh', 1)", TransactionId: begin.TransactionId));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES ('taken', 1)", TransactionId: begin.TransactionId));

        await ShardAssert.FailsWith(ShardErrorCode.ConflictUnique,
            () => shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, begin.TransactionId)));

        Assert.Equal(1, await ShardAssert.CountAsync(shard));
    }

    [Fact]
    public async Task TransactionAsync_drops_queued_statements_when_rolled_back()
    {
        var shard = await ItemsAsync();
        var begin = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Begin));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES ('a', 1)", TransactionId: begin.TransactionId));

        var rollback = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Rollback, begin.TransactionId));

        Assert.True(rollback.RolledBack);
        Assert.Equal(0, await ShardAssert.CountAsync(shard));
        await ShardAssert.FailsWith(ShardErrorCode.TxNotFound,
            () => shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, begin.TransactionId)));
    }

    [Fact]
    public async Task TransactionAsync_raises_tx_not_found_when_id_is_unknown()
    {
        var shard = await ItemsAsync();
        await ShardAssert.FailsWith(ShardErrorCode.TxNotFound,
            () => shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, "no-such-transaction")));
        await ShardAssert.FailsWith(ShardErrorCode.TxNotFound,
            () => shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES ('a', 1)", TransactionId: "no-such-transaction")));
    }

    [Fact]
    public async Task TransactionAsync_raises_tx_not_found_when_transaction_expired()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await ShardTestHost.StartAsync(o => o.TransactionTimeout = TimeSpan.FromSeconds(5), time: time);
        var shard = host.Shard("t", "items");
        await shard.DdlAsync(new DdlRequest(ItemsDdl));
        var begin = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Begin));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES ('a', 1)", TransactionId: begin.TransactionId));

        time.Advance(TimeSpan.FromSeconds(6));

        await ShardAssert.FailsWith(ShardErrorCode.TxNotFound,
            () => shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES ('b', 1)", TransactionId: begin.TransactionId)));
        await ShardAssert.FailsWith(ShardErrorCode.TxNotFound,
            () => shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, begin.TransactionId)));
        Assert.Equal(0, await ShardAssert.CountAsync(shard));
    }

    [Fact]
    public async Task MutateAsync_validates_a_queued_statement_when_queued()
    {
        var shard = await ItemsAsync();
        var begin = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Begin));

        await ShardAssert.FailsWith(ShardErrorCode.SqlError,
            () => shard.MutateAsync(new MutationRequest("INSERT INTO nowhere VALUES (1)", TransactionId: begin.TransactionId)));
        await ShardAssert.FailsWith(ShardErrorCode.SqlError,
            () => shard.MutateAsync(new MutationRequest("INSRT INTO items VALUES (1)", TransactionId: begin.TransactionId)));
        await ShardAssert.FailsWith(ShardErrorCode.InvalidArgument,
            () => shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, ?)", ["only one"], begin.TransactionId)));

        // The transaction is still usable and holds nothing from the refused statements.
        var commit = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, begin.TransactionId));
        Assert.Empty(commit.Results!);
    }

    [Fact]
    public async Task A_queued_statement_is_judged_against_the_schema_after_a_DDL_that_reader_connections_have_not_seen()
    {
        var shard = await ItemsAsync();
        await shard.DdlAsync(new DdlRequest("ALTER TABLE items ADD COLUMN note TEXT"));
        Assert.Equal(0, await ShardAssert.CountAsync(shard)); // a reader connection now holds the schema as it is
        await shard.DdlAsync(new DdlRequest("CREATE UNIQUE INDEX items_note ON items(note)"));
        await shard.DdlAsync(new DdlRequest("ALTER TABLE items ADD COLUMN extra INTEGER"));
        var begin = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Begin));

        // Both were refused by a reader still holding the old schema: the new index as an ON CONFLICT target, five values
        // (SQLite reloads a stale schema by itself only for a name it does not know).
        await shard.MutateAsync(new MutationRequest(
            "INSERT INTO items(name, qty, note) VALUES ('a', 1, 'n') ON CONFLICT(note) DO UPDATE SET qty = qty + 1", TransactionId: begin.TransactionId));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items VALUES (7, 'b', 2, 'm', 0)", TransactionId: begin.TransactionId));
        var commit = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, begin.TransactionId));

        Assert.Equal(2, commit.Results!.Count);
        Assert.Equal(2, await ShardAssert.CountAsync(shard));
    }

    [Fact]
    public async Task An_idempotency_key_is_taken_on_COMMIT_only_and_a_COMMIT_whose_key_belongs_to_another_request_leaves_the_transaction_open()
    {
        var shard = await ItemsAsync();
        var begin = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Begin));

        // On a queued statement a key would protect nothing (a retry would queue it again): refused, nothing queued.
        await ShardAssert.FailsWith(ShardErrorCode.InvalidArgument, () => shard.MutateAsync(
            new MutationRequest("INSERT INTO items(name, qty) VALUES ('a', 1)", TransactionId: begin.TransactionId, IdempotencyKey: "pay-1")));
        await ShardAssert.FailsWith(ShardErrorCode.InvalidArgument, () => shard.TransactionAsync(new TransactionRequest(TransactionOperation.Begin, IdempotencyKey: "b")));
        await ShardAssert.FailsWith(ShardErrorCode.InvalidArgument, () => shard.TransactionAsync(
            new TransactionRequest(TransactionOperation.Rollback, begin.TransactionId, IdempotencyKey: "r")));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES ('b', 2)", TransactionId: begin.TransactionId));

        // The key is another request's: nothing runs, and the transaction is still there for a COMMIT with a new key.
        await InsertAsync(shard, "other", key: "taken");
        await ShardAssert.FailsWith(ShardErrorCode.IdempotencyMismatch, () => shard.TransactionAsync(
            new TransactionRequest(TransactionOperation.Commit, begin.TransactionId, IdempotencyKey: "taken")));
        Assert.Equal(1, await ShardAssert.CountAsync(shard));

        var commit = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, begin.TransactionId, IdempotencyKey: "fresh"));
        Assert.Single(commit.Results!);
        Assert.Equal(2, await ShardAssert.CountAsync(shard));
        var replay = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, begin.TransactionId, IdempotencyKey: "fresh"));
        Assert.Equal(commit.Bookmark, replay.Bookmark);
        Assert.Equal(2, await ShardAssert.CountAsync(shard));
    }

    [Fact]
    public async Task BatchAsync_keeps_total_balance_when_64_clients_transfer_while_readers_sum()
    {
        const int accounts = 8;
        const long initial = 1_000;
        var shard = fixture.NewShard("accounts");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL CHECK(balance >= 0))"));
        await shard.BatchAsync(new BatchRequest(
            [.. Enumerable.Range(0, accounts).Select(i => new Statement("INSERT INTO accounts(id, balance) VALUES (?, ?)", [i, initial]))]));

        using var writersDone = new CancellationTokenSource();
        long committed = 0, refused = 0, reads = 0;
        var writers = Enumerable.Range(0, 64).Select(client => Task.Run(async () =>
        {
            var random = new Random(client);
            for (var i = 0; i < 25; i++)
            {
                var from = random.Next(accounts);
                var to = (from + 1 + random.Next(accounts - 1)) % accounts;
                var amount = random.Next(1, 400);
                try
                {
                    await shard.BatchAsync(new BatchRequest(
                    [
                        new Statement("UPDATE accounts SET balance = balance - ? WHERE id = ?", [amount, from]),
                        new Statement("UPDATE accounts SET balance = balance + ? WHERE id = ?", [amount, to]),
                    ]));
                    Interlocked.Increment(ref committed);
                }
                catch (ShardException ex) when (ex.Code == ShardErrorCode.ConstraintViolation)
                {
                    Interlocked.Increment(ref refused);
                }
            }
        })).ToArray();
        var readers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!writersDone.IsCancellationRequested)
            {
                var sum = await shard.QueryAsync(new QueryRequest("SELECT sum(balance), min(balance), count(*) FROM accounts"));
                Assert.Equal(accounts * initial, sum.Rows[0][0].AsInteger);
                Assert.True(sum.Rows[0][1].AsInteger >= 0);
                Assert.Equal(accounts, sum.Rows[0][2].AsInteger);
                Interlocked.Increment(ref reads);
            }
        })).ToArray();

        await Task.WhenAll(writers);
        await writersDone.CancelAsync();
        await Task.WhenAll(readers);

        var final = await shard.QueryAsync(new QueryRequest("SELECT sum(balance) FROM accounts"));
        Assert.Equal(accounts * initial, final.Rows[0][0].AsInteger);
        Assert.Equal(64 * 25, committed + refused);
        Assert.True(committed > 0, "no transfer committed");
        Assert.True(reads > 0, "no read ran");
    }
}

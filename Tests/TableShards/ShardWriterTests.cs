namespace OrleansShards.Tests.TableShards;

/// <summary>Group commit and idempotency of <c>ShardWriter</c>, observed through <see cref="ITableShard"/>.</summary>
[Collection(ShardHostCollection.Name)]
public sealed partial class ShardWriterTests(ShardHostFixture fixture)
{
    private async Task<ITableShard> ItemsAsync()
    {
        var shard = fixture.NewShard();
        await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"));
        return shard;
    }

    [Fact]
    public async Task EnqueueAsync_commits_concurrent_mutations_in_fewer_transactions_when_they_arrive_together()
    {
        const int mutations = 400;
        var shard = await ItemsAsync();
        var before = await shard.GetStatsAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, mutations).Select(i => Task.Run(
            () => shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES (?)", ["n" + i])))));

        var after = await shard.GetStatsAsync();
        var commits = after.Commits - before.Commits;
        Assert.InRange(commits, 1, mutations - 1);
        Assert.Equal(mutations, await ShardAssert.CountAsync(shard));
        Assert.Equal(mutations, results.Select(r => r.LastInsertRowId).Distinct().Count());
        Assert.All(results, r => Assert.Equal(1, r.Changes));
    }

    [Fact]
    public async Task EnqueueAsync_fails_only_the_failing_mutation_when_it_shares_a_group()
    {
        const int mutations = 200;
        var shard = await ItemsAsync();
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES ('dup')"));
        var before = await shard.GetStatsAsync();

        var tasks = Enumerable.Range(0, mutations).Select(i => Task.Run(() => shard.MutateAsync(
            new MutationRequest("INSERT INTO items(name) VALUES (?)", [i % 10 == 5 ? "dup" : "n" + i])))).ToArray();
        await Task.WhenAll(tasks).ContinueWith(_ => { }, TaskScheduler.Default);

        var failed = tasks.Where(t => t.IsFaulted).ToList();
        Assert.Equal(mutations / 10, failed.Count);
        Assert.All(failed, t => Assert.Equal(ShardErrorCode.ConflictUnique, Assert.IsType<ShardException>(t.Exception!.InnerException).Code));
        Assert.Equal(1 + mutations - failed.Count, await ShardAssert.CountAsync(shard));
        var after = await shard.GetStatsAsync();
        Assert.True(after.Commits - before.Commits < mutations - failed.Count, $"{after.Commits - before.Commits} commits");
    }

    [Fact]
    public async Task EnqueueAsync_fails_only_the_violating_work_when_a_deferred_foreign_key_is_left_unresolved()
    {
        var shard = await ItemsAsync();
        await shard.DdlAsync(new DdlRequest(
            "CREATE TABLE orders(id INTEGER PRIMARY KEY, item INTEGER REFERENCES items(id) DEFERRABLE INITIALLY DEFERRED)"));

        var tasks = Enumerable.Range(0, 100).Select(i => Task.Run(() => i == 50
            ? shard.MutateAsync(new MutationRequest("INSERT INTO orders(item) VALUES (424242)"))
            : shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES (?)", ["n" + i])))).ToArray();
        await Task.WhenAll(tasks).ContinueWith(_ => { }, TaskScheduler.Default);

        var failed = Assert.Single(tasks, t => t.IsFaulted);
        Assert.Equal(ShardErrorCode.ConstraintViolation, Assert.IsType<ShardException>(failed.Exception!.InnerException).Code);
        Assert.Equal(99, await ShardAssert.CountAsync(shard));
        Assert.Equal(0, await ShardAssert.CountAsync(shard, "orders"));
    }

    [Fact]
    public async Task EnqueueAsync_returns_the_first_outcome_when_a_mutation_key_repeats()
    {
        var shard = await ItemsAsync();
        var first = await shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES (?)", ["a"], IdempotencyKey: "k1"));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES ('between')"));

        var second = await shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES (?)", ["a"], IdempotencyKey: "k1"));

        Assert.Equal(first.LastInsertRowId, second.LastInsertRowId);
        Assert.Equal(first.Bookmark, second.Bookmark);
        Assert.Equal(first.Changes, second.Changes);
        var rows = await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM items WHERE name = 'a'"));
        Assert.Equal(1, rows.Rows[0][0].AsInteger);
    }

    [Fact]
    public async Task EnqueueAsync_runs_once_when_the_same_key_arrives_concurrently()
    {
        var shard = await ItemsAsync();
        var results = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(() => shard.MutateAsync(
            new MutationRequest("INSERT INTO items(name) VALUES (?)", ["once"], IdempotencyKey: "same")))));

        Assert.Single(results.Select(r => r.LastInsertRowId).Distinct());
        Assert.Equal(1, await ShardAssert.CountAsync(shard));
    }

    [Fact]
    public async Task EnqueueAsync_returns_the_first_outcome_when_a_batch_key_repeats()
    {
        var shard = await ItemsAsync();
        BatchRequest Batch() => new([new Statement("INSERT INTO items(name) VALUES ('x')"), new Statement("INSERT INTO items(name) VALUES ('y')")], "batch-key");

        var first = await shard.BatchAsync(Batch());
        var second = await shard.BatchAsync(Batch());

        Assert.Equal(first.Bookmark, second.Bookmark);
        Assert.Equal(first.Results.Select(r => r.LastInsertRowId), second.Results.Select(r => r.LastInsertRowId));
        Assert.Equal(2, await ShardAssert.CountAsync(shard));
    }

    [Fact]
    public async Task EnqueueAsync_returns_the_first_outcome_when_a_commit_key_repeats()
    {
        var shard = await ItemsAsync();
        var begin = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Begin));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES ('t')", TransactionId: begin.TransactionId));

        var first = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, begin.TransactionId, "commit-key"));
        var second = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, begin.TransactionId, "commit-key"));

        Assert.Equal(first.Bookmark, second.Bookmark);
        Assert.Equal(first.Results![0].LastInsertRowId, second.Results![0].LastInsertRowId);
        Assert.Equal(1, await ShardAssert.CountAsync(shard));
    }

    [Fact]
    public async Task EnqueueAsync_remembers_a_deterministic_error_when_its_key_repeats()
    {
        var shard = await ItemsAsync();
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES ('dup')"));
        var first = await ShardAssert.FailsWith(ShardErrorCode.ConflictUnique,
            () => shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES ('dup')", IdempotencyKey: "err")));
        await shard.MutateAsync(new MutationRequest("DELETE FROM items WHERE name = 'dup'"));

        // The statement would succeed now, but the key answers with the remembered error.
        var second = await ShardAssert.FailsWith(ShardErrorCode.ConflictUnique,
            () => shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES ('dup')", IdempotencyKey: "err")));

        Assert.Equal(first.Message, second.Message);
        Assert.Equal(0, await ShardAssert.CountAsync(shard));
    }
}

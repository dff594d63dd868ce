using System.Collections.Concurrent;
using System.Text.Json;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using OrleansShards.Tests.Infrastructure;
using OrleansShards.Grains.TableShards;
using OrleansShards.Tests.Silo;

namespace OrleansShards.Tests.TableShards;

/// <summary>
/// The silo-local read path (<see cref="LocalShardReads"/>) through the real HTTP host: strong reads of a shard open on
/// the silo skip the grain call and answer exactly as the grain would; reads that need the grain still go through it;
/// restores and deactivations in the middle of a stream of local reads never show a half state or a failure.
/// </summary>
public sealed class LocalReadsTests
{
    private const string Path = "/v1/tables/items";

    private static async Task<HttpClient> NewTableAsync(SiloFactory silo, string tenant, int rows)
    {
        var client = silo.CreateTenantClient(tenant);
        await client.PostOkAsync(Path + "/ddl", """{"query":"CREATE TABLE items (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"}""");
        await client.PostOkAsync(Path + "/mutation", $$"""{"query":"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {{rows}}) INSERT INTO items SELECT i, 1 FROM n"}""");
        return client;
    }

    private static long Served(SiloFactory silo) => silo.Services.GetRequiredService<LocalShardReads>().Served;

    /// <summary>
    /// A call through the grain (<c>/stats</c>): the local path serves for <see cref="LocalShardReads.KeepAlive"/> after
    /// one, so the reads right after it are local however loaded the machine is.
    /// </summary>
    private static Task TouchAsync(HttpClient client) => client.GetOkAsync(Path + "/stats");

    [Fact]
    public async Task A_strong_read_of_an_open_shard_is_answered_without_the_grain_call()
    {
        using var silo = new SiloFactory();
        using var client = await NewTableAsync(silo, "local", 10);
        await TouchAsync(client);
        var before = Served(silo);

        var answer = await client.PostOkAsync(Path + "/query", """{"query":"SELECT id, v FROM items WHERE id = ?","params":[7]}""");
        Assert.Equal(before + 1, Served(silo));
        Assert.Equal(7, answer.GetProperty("rows")[0][0].GetInt64());
        Assert.Equal("shard", answer.GetProperty("meta").GetProperty("servedBy").GetString());
        Assert.EndsWith(".local.items", answer.GetProperty("meta").GetProperty("bookmark").GetString(), StringComparison.Ordinal);

        // The read's own errors are the grain's, typed.
        await client.PostErrorAsync(Path + "/query", """{"query":"SELECT nope FROM items"}""", "SQL_ERROR", 400);
        await client.PostErrorAsync(Path + "/query", """{"query":"DELETE FROM items"}""", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync(Path + "/query", """{"query":"SELECT * FROM _changes"}""", "SQL_ERROR", 400);
        Assert.Equal(before + 4, Served(silo));

        // A write is seen by the next local read.
        await client.PostOkAsync(Path + "/mutation", """{"query":"UPDATE items SET v = 5 WHERE id = 7"}""");
        await TouchAsync(client);
        var after = await client.PostOkAsync(Path + "/query", """{"query":"SELECT v FROM items WHERE id = 7"}""");
        Assert.Equal(5, after.GetProperty("rows")[0][0].GetInt64());
        Assert.Equal(before + 5, Served(silo));
    }

    [Fact]
    public async Task Reads_that_need_the_grain_go_through_it()
    {
        using var silo = new SiloFactory();
        using var client = await NewTableAsync(silo, "grainpath", 10);
        var write = await client.PostOkAsync(Path + "/mutation", """{"query":"UPDATE items SET v = 2 WHERE id = 1"}""");
        var bookmark = write.GetProperty("bookmark").GetString();
        var before = Served(silo);

        await TouchAsync(client);
        var cached = await client.PostOkAsync(Path + "/query", """{"query":"SELECT sum(v) FROM items","consistency":"cached"}""");
        var bounded = await client.PostOkAsync(Path + "/query", """{"query":"SELECT sum(v) FROM items","consistency":"bounded","maxStalenessMs":60000}""");
        var withBookmark = await client.PostOkAsync(Path + "/query", JsonSerializer.Serialize(new { query = "SELECT v FROM items WHERE id = 1", minBookmark = bookmark }));

        Assert.Equal(before, Served(silo));
        Assert.Equal(11, cached.GetProperty("rows")[0][0].GetInt64());
        Assert.Equal(11, bounded.GetProperty("rows")[0][0].GetInt64());
        Assert.Equal(2, withBookmark.GetProperty("rows")[0][0].GetInt64());
    }

    [Fact]
    public async Task A_sharded_table_is_read_through_its_shards_never_from_the_emptied_base_file()
    {
        using var silo = new SiloFactory();
        using var client = await NewTableAsync(silo, "sharded", 40);
        await client.PostOkAsync(Path + "/shard", """{"key":"id","count":2,"strategy":"hash"}""");
        await TouchAsync(client);
        var before = Served(silo);

        var all = await client.PostOkAsync(Path + "/query", """{"query":"SELECT count(*), sum(v) FROM items"}""");
        var one = await client.PostOkAsync(Path + "/query", """{"query":"SELECT v FROM items WHERE id = ?","params":[17],"shardKey":17}""");

        // A fan-out answers one row per shard.
        Assert.Equal(2, all.GetProperty("rows").GetArrayLength());
        Assert.Equal(40, all.GetProperty("rows").EnumerateArray().Sum(r => r[0].GetInt64()));
        Assert.Equal(40, all.GetProperty("rows").EnumerateArray().Sum(r => r[1].GetInt64()));
        Assert.Equal(1, one.GetProperty("rows")[0][0].GetInt64());
        Assert.Equal(before, Served(silo));
    }

    [Fact]
    public async Task Turned_off_every_read_goes_through_the_grain()
    {
        using var silo = new SiloFactory();
        silo.Settings["Shards:TableShard:LocalReads"] = "false";
        using var client = await NewTableAsync(silo, "off", 3);

        var answer = await client.PostOkAsync(Path + "/query", """{"query":"SELECT count(*) FROM items"}""");

        Assert.Equal(3, answer.GetProperty("rows")[0][0].GetInt64());
        Assert.Equal(0, Served(silo));
        Assert.Equal(0, silo.Services.GetRequiredService<LocalShardReads>().Count);
    }

    [Fact]
    public async Task Restores_and_deactivations_amid_local_reads_show_only_whole_states()
    {
        using var silo = new SiloFactory();
        silo.Settings["Shards:TableShard:StatementTimeout"] = "00:00:10";
        using var client = await NewTableAsync(silo, "amid", 200);
        var ones = (await client.PostOkAsync(Path + "/pitr/bookmark", "{}")).GetProperty("bookmark").GetString();
        await client.PostOkAsync(Path + "/mutation", """{"query":"UPDATE items SET v = 2"}""");
        var management = silo.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        var before = Served(silo);

        using var stop = new CancellationTokenSource();
        var failures = new ConcurrentQueue<string>();
        var sums = new ConcurrentDictionary<long, int>();
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            using var reader = silo.CreateTenantClient("amid");
            reader.Timeout = TimeSpan.FromSeconds(30);
            while (!stop.IsCancellationRequested)
            {
                using var response = await reader.PostRawAsync(Path + "/query", """{"query":"SELECT count(*), sum(v) FROM items"}""");
                var body = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode)
                {
                    failures.Enqueue($"{(int)response.StatusCode} {body}");
                    continue;
                }

                var row = JsonDocument.Parse(body).RootElement.GetProperty("rows")[0];
                if (row[0].GetInt64() != 200)
                {
                    failures.Enqueue("count " + row[0].GetInt64());
                }

                sums.AddOrUpdate(row[1].GetInt64(), 1, (_, n) => n + 1);
            }
        })).ToList();

        // Back and forth between the two states, and the activation collected (its local reads in flight) in between.
        var bookmark = ones;
        for (var i = 0; i < 6; i++)
        {
            var restored = await client.PostOkAsync(Path + "/pitr/restore", JsonSerializer.Serialize(new { bookmark }));
            bookmark = restored.GetProperty("undoBookmark").GetString();
            await management.ForceActivationCollection(TimeSpan.Zero);
            await Task.Yield();
        }

        await stop.CancelAsync();
        await Task.WhenAll(readers);

        Assert.Empty(failures);
        Assert.True(Served(silo) > before, "no read took the local path");
        Assert.Subset(new HashSet<long> { 200, 400 }, sums.Keys.ToHashSet());
    }

    [Fact]
    public async Task A_strong_read_through_the_grain_factory_in_the_silo_process_takes_the_local_path()
    {
        await using var host = await ShardTestHost.StartAsync(_ => { });
        var shard = host.Shard("factory", "items");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"));
        var reads = host.Services.GetRequiredService<LocalShardReads>();

        // A write is a grain call (the keep-alive starts again) and the next read sees it.
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(id, v) VALUES (1, 10), (2, 20)"));
        var before = reads.Served;
        var answer = await shard.QueryAsync(new QueryRequest("SELECT v FROM items WHERE id = ?", [SqlValue.FromInteger(2)]));
        Assert.Equal(SqlValue.FromInteger(20), answer.Rows[0][0]);
        Assert.Equal("shard", answer.Meta.ServedBy);
        Assert.Equal(before + 1, reads.Served);

        // Its errors are the grain's typed errors.
        var error = await Assert.ThrowsAsync<ShardException>(() => shard.QueryAsync(new QueryRequest("SELECT nope FROM items")));
        Assert.Equal(ShardErrorCode.SqlError, error.Code);
        error = await Assert.ThrowsAsync<ShardException>(() => shard.QueryAsync(new QueryRequest("DELETE FROM items")));
        Assert.Equal(ShardErrorCode.InvalidArgument, error.Code);
        Assert.Equal(before + 3, reads.Served);
        Assert.Equal(2, (await shard.MutateAsync(new MutationRequest("DELETE FROM items"))).Changes);

        // What needs the grain goes to the grain: a bookmark to wait for.
        var written = await shard.MutateAsync(new MutationRequest("INSERT INTO items(id, v) VALUES (3, 30)"));
        answer = await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM items", MinBookmark: written.Bookmark));
        Assert.Equal(SqlValue.FromInteger(1), answer.Rows[0][0]);
        Assert.Equal(before + 3, reads.Served);
    }

    [Fact]
    public async Task A_local_read_waits_for_a_busy_reader_instead_of_paying_for_a_grain_call()
    {
        await using var host = await ShardTestHost.StartAsync(o => o.ReaderPoolSize = 1);
        var shard = host.Shard("busy", "items");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY)"));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(id) VALUES (1)"));
        var reads = host.Services.GetRequiredService<LocalShardReads>();

        // The one reader is held by a slow read (counted once it has the reader)... A local read runs on the caller's
        // thread, so the slow one is sent from another. On an idle machine the read may end before this thread sees it
        // holding the reader: then it is sent again, twice as long (a few times at most).
        for (var n = 3_000_000; ; n *= 2)
        {
            var before = reads.Served;
            var slow = Task.Run(() => shard.QueryAsync(new QueryRequest($"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) SELECT count(*) FROM n")));
            await Eventually.TrueAsync(() => reads.Served == before + 1 || slow.IsCompleted, "the slow read to take the reader", TimeSpan.FromSeconds(20));
            if (slow.IsCompleted && n < 48_000_000)
            {
                Assert.Equal(SqlValue.FromInteger(n), (await slow).Rows[0][0]);
                continue;
            }

            Assert.False(slow.IsCompleted, "the slow read ended before the second read was sent");

            // ...and the next read waits for it on the local path rather than going through the grain (a read the local
            // path passed on to the grain would not be counted).
            var quick = await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM items"));
            Assert.Equal(SqlValue.FromInteger(1), quick.Rows[0][0]);
            Assert.Equal(before + 2, reads.Served);
            Assert.Equal(SqlValue.FromInteger(n), (await slow).Rows[0][0]);
            Assert.Equal(before + 2, reads.Served);
            break;
        }
    }

    [Fact]
    public async Task A_canceled_local_read_ends_as_a_canceled_Orleans_call_and_a_read_waiting_too_long_for_a_reader_is_a_timeout()
    {
        await using var host = await ShardTestHost.StartAsync(o =>
        {
            // The cancellation (a timer 200 ms in) must win over the statement's deadline even when a loaded machine runs
            // the timer's callback late: a 1 s deadline lost that race once under the whole suite.
            o.ReaderPoolSize = 1;
            o.StatementTimeout = TimeSpan.FromSeconds(3);
        });
        var shard = host.Shard("cancel", "items");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY)"));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(id) VALUES (1)"));
        var reads = host.Services.GetRequiredService<LocalShardReads>();
        const string Endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n";

        // A token canceled before the call runs nothing.
        var before = reads.Served;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => shard.QueryAsync(new QueryRequest("SELECT 1"), new CancellationToken(true)));
        Assert.Equal(before, reads.Served);

        // Canceled while its statement runs: canceled, not the statement's TIMEOUT.
        using (var soon = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => shard.QueryAsync(new QueryRequest(Endless), soon.Token));
        }

        Assert.Equal(before + 1, reads.Served);

        // Four endless reads on one reader: each holds it for its statement timeout; the last ones wait longer than a
        // statement may run and answer TIMEOUT rather than waiting for the grain as long again.
        var endless = Enumerable.Range(0, 4).Select(_ => Task.Run(() => shard.QueryAsync(new QueryRequest(Endless)))).ToArray();
        var errors = new List<ShardException>();
        foreach (var read in endless)
        {
            errors.Add(await Assert.ThrowsAsync<ShardException>(() => read));
        }

        Assert.All(errors, e => Assert.Equal(ShardErrorCode.Timeout, e.Code));
        Assert.Contains(errors, e => e.Message.Contains("stayed busy", StringComparison.Ordinal));
        Assert.Equal(SqlValue.FromInteger(1), (await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM items"))).Rows[0][0]);
    }

    [Fact]
    public async Task Local_reads_keep_their_activation_alive_and_an_idle_one_is_still_collected()
    {
        var collectionAge = TimeSpan.FromSeconds(1);
        await using var host = await ShardTestHost.StartAsync(
            _ => { },
            silo: s => s.Configure<GrainCollectionOptions>(c =>
            {
                c.CollectionQuantum = TimeSpan.FromMilliseconds(200);
                c.CollectionAge = collectionAge;
            }));
        var shard = host.Shard("alive", "items");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY)"));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(id) VALUES (1)"));
        var reads = host.Services.GetRequiredService<LocalShardReads>();
        Assert.Equal(TimeSpan.FromMilliseconds(250), reads.KeepAlive);
        var registrations = reads.Registrations;
        var query = new QueryRequest("SELECT count(*) FROM items");

        // Reads as the HTTP handler makes them, for four collection ages: most are local, one per keep-alive goes through
        // the grain, and Orleans never collects the activation (it would register again when reopened).
        int local = 0, routed = 0;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < 4 * collectionAge)
        {
            var answer = await reads.TryQueryAsync("alive:items", query);
            if (answer is null)
            {
                answer = await shard.QueryAsync(query);
                routed++;
            }
            else
            {
                local++;
            }

            Assert.Equal(SqlValue.FromInteger(1), answer.Rows[0][0]);
            await Task.Delay(5);
        }

        Assert.Equal(registrations, reads.Registrations);
        Assert.True(routed >= 4, $"{routed} reads went through the grain in {watch.Elapsed}");
        Assert.True(local > routed, $"{local} local reads, {routed} through the grain");

        // Left alone, it is collected like any idle activation, and the path has nothing to serve.
        await Eventually.TrueAsync(() => reads.Count == 0, "the idle shard to be collected", TimeSpan.FromSeconds(20));
        Assert.Null(await reads.TryQueryAsync("alive:items", query));
    }
}

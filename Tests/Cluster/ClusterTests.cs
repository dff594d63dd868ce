using System.Diagnostics;
using System.Text.Json;
using OrleansShards.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansShards.Tests.Cluster;

/// <summary>
/// Cluster mode with real processes: a redis-server and three silo processes on 127.0.0.1, started and stopped by
/// each test. They run alone (<see cref="OrleansShards.Tests.Caching.LatencyCollection"/>): membership probes every
/// second, and two cores shared with the rest of the suite could starve a silo into being voted dead.
/// </summary>
[Collection(OrleansShards.Tests.Caching.LatencyCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class ClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    public const string Tenant = "acme";
    private static readonly TimeSpan FormTimeout = TimeSpan.FromSeconds(60);

    private readonly RedisServerFixture _redis = new();
    private readonly TempDirectory _root = new("cluster");
    private readonly List<SiloProcess> _silos = [];
    private readonly string _serviceId = "t" + Guid.NewGuid().ToString("N")[..8];

    public Task InitializeAsync() => _redis.InitializeAsync();

    public async Task DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        await _redis.DisposeAsync();
        _root.Dispose();
    }

    private SiloProcess StartSilo(string name, string? dataDirectory = null, IDictionary<string, string>? settings = null)
    {
        var silo = SiloProcess.Start(_redis.Configuration, _serviceId, name, dataDirectory ?? _root.Combine(name), settings);
        _silos.Add(silo);
        return silo;
    }

    private async Task<SiloProcess[]> StartClusterAsync(int count = 3, IDictionary<string, string>? settings = null)
    {
        var silos = Enumerable.Range(1, count).Select(i => StartSilo("s" + i, settings: settings)).ToArray();
        foreach (var silo in silos)
        {
            await silo.WaitForActiveSilosAsync(count, FormTimeout);
        }

        return silos;
    }

    private static async Task CreateTableAsync(SiloProcess via, string table)
    {
        var (status, body) = await via.PostAsync($"/v1/tables/{table}/ddl", new { query = $"CREATE TABLE {table}(id INTEGER PRIMARY KEY, v TEXT)" });
        Assert.True(status == 200, $"DDL of {table} through {via.Name}: {status} {body}\n{via.Tail()}");
    }

    private static async Task<bool> IsListedDeadAsync(SiloProcess via, string name)
    {
        var (status, body) = await via.GetAsync("/v1/cluster");
        return status == 200 && body.GetProperty("silos").EnumerateArray()
            .Any(s => s.GetProperty("name").GetString() == name && s.GetProperty("status").GetString() == "dead");
    }

    private static async Task<string> PrimaryOfAsync(SiloProcess via, string table)
    {
        var (status, body) = await via.GetAsync($"/v1/tables/{table}/placement");
        Assert.True(status == 200, $"placement of {table}: {status} {body}");
        return body.GetProperty("primary").GetString()!;
    }

    private static async Task<long> CountAsync(SiloProcess via, string table)
    {
        var (status, body) = await via.PostAsync($"/v1/tables/{table}/query", new { query = $"SELECT count(*) FROM {table}" });
        Assert.True(status == 200, $"count of {table} through {via.Name}: {status} {body}\n{via.Tail()}");
        return body.GetProperty("rows")[0][0].GetInt64();
    }

    private static async Task<long> SumOfCountsAsync(SiloProcess via, string table)
    {
        var (status, body) = await via.PostAsync($"/v1/tables/{table}/query", new { query = $"SELECT count(*) FROM {table}" });
        Assert.True(status == 200, $"count of {table} through {via.Name}: {status} {body}");
        return body.GetProperty("rows").EnumerateArray().Sum(r => r[0].GetInt64());
    }

    [Fact]
    public async Task A_table_created_on_one_silo_is_written_through_another_and_read_through_the_third_and_tables_spread()
    {
        var silos = await StartClusterAsync();
        var tables = Enumerable.Range(1, 6).Select(i => "t" + i).ToArray();
        foreach (var table in tables)
        {
            await CreateTableAsync(silos[0], table);
        }

        foreach (var table in tables)
        {
            var (status, body) = await silos[1].PostAsync($"/v1/tables/{table}/mutation", new { query = $"INSERT INTO {table}(v) VALUES (?)", @params = new object[] { "through s2" } });
            Assert.True(status == 200, $"{status} {body}");
        }

        var primaries = new Dictionary<string, string>();
        foreach (var table in tables)
        {
            Assert.Equal(1, await CountAsync(silos[2], table));
            primaries[table] = await PrimaryOfAsync(silos[2], table);
        }

        // Each table's file lives in its primary's data directory only.
        foreach (var (table, primary) in primaries)
        {
            foreach (var silo in silos)
            {
                var exists = File.Exists(Path.Combine(silo.DataDirectory, Tenant, table + ".db"));
                Assert.True(exists == (silo.Name == primary), $"{table} (primary {primary}) has a file on {silo.Name}: {exists}");
            }
        }

        // New tables go to the silo with the fewest primaries: six tables over three silos land on at least two.
        Assert.True(primaries.Values.Distinct().Count() >= 2, "placement did not spread: " + string.Join(", ", primaries));
        var (_, cluster) = await silos[0].GetAsync("/v1/cluster");
        Assert.Equal(6, cluster.GetProperty("silos").EnumerateArray().Sum(s => s.GetProperty("primaries").GetInt64()));
        output.WriteLine("primaries: " + string.Join(", ", primaries));

        // A second process under a live silo's name (its own ports and directory) refuses to start (SiloNameGuard); the
        // cluster goes on as it was.
        var duplicate = StartSilo(silos[0].Name, _root.Combine("duplicate"));
        Assert.True(await duplicate.WaitForExitAsync(FormTimeout), "the duplicate-named silo is still running:\n" + duplicate.Tail());
        var said = duplicate.Tail(400);
        Assert.True(said.Contains($"Silo name '{silos[0].Name}' is in use by a live silo", StringComparison.Ordinal), "the duplicate exited for another reason:\n" + said);
        Assert.Equal(1, await CountAsync(silos[0], tables[0]));
        var (_, after) = await silos[1].GetAsync("/v1/cluster");
        Assert.Equal(3, after.GetProperty("silos").EnumerateArray().Count(s => s.GetProperty("status").GetString() == "active"));
    }

    [Fact]
    public async Task A_killed_silo_answers_unavailable_within_5_s_others_keep_answering_and_a_restart_brings_its_shards_back()
    {
        var silos = await StartClusterAsync();
        var tables = Enumerable.Range(1, 6).Select(i => "k" + i).ToArray();
        foreach (var table in tables)
        {
            await CreateTableAsync(silos[0], table);
            await silos[0].PostAsync($"/v1/tables/{table}/mutation", new { query = $"INSERT INTO {table}(v) VALUES ('before')" });
        }

        var primaries = new Dictionary<string, string>();
        foreach (var table in tables)
        {
            primaries[table] = await PrimaryOfAsync(silos[0], table);
        }

        // Kill the silo holding the most primaries, other than the one we ask through.
        var victim = silos.Skip(1).OrderByDescending(s => primaries.Values.Count(p => p == s.Name)).First();
        var via = silos.First(s => s != victim);
        var victimTables = tables.Where(t => primaries[t] == victim.Name).ToArray();
        var otherTables = tables.Except(victimTables).ToArray();
        Assert.NotEmpty(victimTables);
        var epochBefore = (await via.GetAsync($"/v1/tables/{victimTables[0]}/placement")).Body.GetProperty("epoch").GetInt64();

        victim.Kill();
        var watch = Stopwatch.StartNew();
        var (status, body) = await via.PostAsync($"/v1/tables/{victimTables[0]}/query", new { query = "SELECT 1" });
        var firstAnswer = watch.Elapsed;
        output.WriteLine($"first answer for a shard of the killed silo after {firstAnswer.TotalMilliseconds:0} ms: {status} {body}");
        Assert.Equal(503, status);
        Assert.Equal("UNAVAILABLE", body.GetProperty("error").GetProperty("code").GetString());
        Assert.True(body.GetProperty("error").GetProperty("retryable").GetBoolean());
        Assert.True(firstAnswer < TimeSpan.FromSeconds(5), $"UNAVAILABLE took {firstAnswer}");

        // For the next seconds (the victim is voted dead meanwhile) its shards answer UNAVAILABLE fast, through every
        // live silo. Every other shard answers — once the victim is declared dead: until then a silo that never called
        // a shard looks it up in Orleans' grain directory, whose partition may be the dead silo's, and that lookup is
        // rejected (UNAVAILABLE, retryable; seen once in a full run for a shard the asking silo had never called).
        var errors = new List<string>();
        var declaredDead = false;
        var until = Stopwatch.StartNew();
        while (until.Elapsed < TimeSpan.FromSeconds(8))
        {
            declaredDead = declaredDead || await IsListedDeadAsync(via, victim.Name);
            foreach (var silo in silos.Where(s => s != victim))
            {
                foreach (var table in otherTables)
                {
                    var (s, b) = await silo.PostAsync($"/v1/tables/{table}/query", new { query = $"SELECT count(*) FROM {table}" });
                    if (s != 200 && (declaredDead || s != 503))
                    {
                        errors.Add($"{table} via {silo.Name}: {s} {b}");
                    }
                }

                var call = Stopwatch.StartNew();
                var (vs, vb) = await silo.PostAsync($"/v1/tables/{victimTables[0]}/query", new { query = "SELECT 1" });
                if (vs != 503 || call.Elapsed > TimeSpan.FromSeconds(5))
                {
                    errors.Add($"{victimTables[0]} via {silo.Name}: {vs} in {call.ElapsedMilliseconds} ms {vb}");
                }
            }
        }

        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(10)));
        Assert.True(declaredDead, $"{victim.Name} was not declared dead within 8 s");

        // Restarted with the same name and data directory (new ports, a new Orleans generation): its shards come back.
        var restarted = StartSilo(victim.Name, victim.DataDirectory);
        await restarted.WaitForActiveSilosAsync(3, FormTimeout);
        foreach (var table in victimTables)
        {
            long count = -1;
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                var (s, b) = await via.PostAsync($"/v1/tables/{table}/query", new { query = $"SELECT count(*) FROM {table}" });
                if (s == 200)
                {
                    count = b.GetProperty("rows")[0][0].GetInt64();
                    break;
                }

                Assert.Equal(503, s);
                await Task.Delay(200);
            }

            Assert.Equal(1, count);
            Assert.Equal(victim.Name, await PrimaryOfAsync(via, table));
        }

        var epochAfter = (await via.GetAsync($"/v1/tables/{victimTables[0]}/placement")).Body.GetProperty("epoch").GetInt64();
        Assert.True(epochAfter > epochBefore, $"epoch {epochBefore} → {epochAfter}");
    }

    [Fact]
    public async Task A_frozen_silo_resumed_after_a_newer_activation_took_its_file_cannot_commit()
    {
        var silos = await StartClusterAsync();
        await CreateTableAsync(silos[0], "z");
        var primary = await PrimaryOfAsync(silos[0], "z");
        var zombie = silos.First(s => s.Name == primary);
        var via = silos.First(s => s != zombie);
        var (status, _) = await zombie.PostAsync("/v1/tables/z/mutation", new { query = "INSERT INTO z(v) VALUES ('before')" });
        Assert.Equal(200, status);

        // Frozen, with a write waiting in its HTTP queue.
        zombie.Freeze();
        var pending = zombie.PostAsync("/v1/tables/z/mutation", new { query = "INSERT INTO z(v) VALUES ('zombie')" });

        // Voted dead; a new process with the same name and data directory takes the file over (epoch + 1) and writes.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var (_, cluster) = await via.GetAsync("/v1/cluster");
            var newest = cluster.GetProperty("silos").EnumerateArray().First(s => s.GetProperty("name").GetString() == zombie.Name);
            if (newest.GetProperty("status").GetString() == "dead")
            {
                break;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "the frozen silo was not voted dead");
            await Task.Delay(250);
        }

        output.WriteLine($"frozen silo voted dead after {deadline.ElapsedMilliseconds} ms");
        var successor = StartSilo(zombie.Name, zombie.DataDirectory);
        await successor.WaitForActiveSilosAsync(3, FormTimeout);
        var wrote = false;
        var successorBookmark = "";
        for (var attempt = 0; attempt < 150 && !wrote; attempt++)
        {
            var (s, b) = await via.PostAsync("/v1/tables/z/mutation", new { query = "INSERT INTO z(v) VALUES ('successor')" });
            wrote = s == 200;
            successorBookmark = wrote ? b.GetProperty("bookmark").GetString()! : "";
            if (!wrote)
            {
                Assert.True(s == 503, $"{s} {b}");
                await Task.Delay(200);
            }
        }

        Assert.True(wrote, "the successor never accepted a write");

        // Resumed, the zombie's stale activation must not commit: its file carries the successor's epoch, so a write
        // there is refused. The resumed process may still carry its queued request to the grain's current activation
        // (Orleans routes it to the successor) before it learns it is dead and exits: then the successor committed it,
        // after the successor's own write, and it must be in the table exactly once. Either way the table is exactly
        // the acknowledged writes.
        zombie.Thaw();
        var acknowledged = new List<string> { "before", "successor" };
        var finished = await Task.WhenAny(pending, Task.Delay(TimeSpan.FromSeconds(20)));
        if (finished == pending)
        {
            try
            {
                var (zs, zb) = await pending;
                output.WriteLine($"zombie answered {zs} {zb}");
                if (zs == 200)
                {
                    // Committed by the successor: its sequence follows the successor's write (the stale writer, which
                    // never saw that write, would have numbered it the same as it).
                    Assert.Equal(SequenceOf(successorBookmark) + 1, SequenceOf(zb.GetProperty("bookmark").GetString()!));
                    acknowledged.Add("zombie");
                }
            }
            catch (HttpRequestException ex)
            {
                output.WriteLine("zombie closed the connection: " + ex.Message);
            }
        }

        var (qs, rows) = await via.PostAsync("/v1/tables/z/query", new { query = "SELECT v FROM z ORDER BY id" });
        Assert.Equal(200, qs);
        var values = rows.GetProperty("rows").EnumerateArray().Select(r => r[0].GetString()!).ToList();
        Assert.Equal(acknowledged, values);
    }

    [Fact]
    public async Task Drain_moves_every_primary_off_a_silo_under_a_writer_and_loses_no_acknowledged_write()
    {
        var silos = await StartClusterAsync();
        var tables = Enumerable.Range(1, 6).Select(i => "d" + i).ToArray();
        foreach (var table in tables)
        {
            await CreateTableAsync(silos[0], table);
        }

        var primaries = new Dictionary<string, string>();
        foreach (var table in tables)
        {
            primaries[table] = await PrimaryOfAsync(silos[0], table);
        }

        var drained = silos.OrderByDescending(s => primaries.Values.Count(p => p == s.Name)).First();
        var via = silos.First(s => s != drained);
        Assert.Contains(drained.Name, primaries.Values);

        // A writer through another silo: every write has an idempotency key and is retried until acknowledged.
        using var stop = new CancellationTokenSource();
        var writer = KeyedWriter.Start(via, tables, stop.Token);

        await Task.Delay(500);
        var (startStatus, start) = await via.PostAsync("/v1/cluster/drain", new { silo = drained.Name });
        Assert.True(startStatus == 202, $"{startStatus} {start}");
        var progress = await OperationEndAsync(via, start.GetProperty("operationId").GetString()!);
        output.WriteLine("drain: " + progress);
        Assert.Equal("completed", progress.GetProperty("state").GetString());
        Assert.Equal(progress.GetProperty("total").GetInt64(), progress.GetProperty("done").GetInt64());
        await Task.Delay(500);
        stop.Cancel();
        await writer.Running;
        output.WriteLine($"longest write (stall) during the drain: {writer.Longest.TotalMilliseconds:0} ms");

        // Nothing is left on the drained silo, and every acknowledged write is there exactly once.
        foreach (var table in tables)
        {
            var primary = await PrimaryOfAsync(via, table);
            Assert.NotEqual(drained.Name, primary);
            var (status, rows) = await via.PostAsync($"/v1/tables/{table}/query", new { query = $"SELECT v FROM {table}" });
            Assert.Equal(200, status);
            var values = rows.GetProperty("rows").EnumerateArray().Select(r => r[0].GetString()!).ToList();
            Assert.Equal(values.Count, values.Distinct().Count());
            Assert.Equal(writer.Acknowledged[table].Order(StringComparer.Ordinal), values.Order(StringComparer.Ordinal));
        }

        var (_, cluster) = await via.GetAsync("/v1/cluster");
        var drainedEntry = cluster.GetProperty("silos").EnumerateArray().First(s => s.GetProperty("name").GetString() == drained.Name);
        Assert.Equal(0, drainedEntry.GetProperty("primaries").GetInt64());

        // The old copies are deleted once their activations are gone (at the latest when the silo's grains deactivate).
        await Eventually.TrueAsync(
            () => tables.Where(t => primaries[t] == drained.Name).All(t => !File.Exists(Path.Combine(drained.DataDirectory, Tenant, t + ".db"))),
            "the drained silo deleted its old copies",
            TimeSpan.FromSeconds(30));

        // New tables no longer go to the drained silo.
        for (var i = 0; i < 4; i++)
        {
            await CreateTableAsync(via, "n" + i);
            Assert.NotEqual(drained.Name, await PrimaryOfAsync(via, "n" + i));
        }

        // One table moves on its own (the operator's route): its rows go along, and it serves from its new silo.
        var movedTable = tables[0];
        var from = await PrimaryOfAsync(via, movedTable);
        var to = silos.First(s => s.Name != from && s != drained).Name;
        var (moveStatus, move) = await via.PostAsync($"/v1/tables/{movedTable}/move", new { silo = to, tenantId = Tenant });
        Assert.True(moveStatus == 200, $"{moveStatus} {move}");
        Assert.Equal(from, move.GetProperty("from").GetString());
        Assert.Equal(to, move.GetProperty("to").GetString());
        Assert.Equal(to, await PrimaryOfAsync(via, movedTable));
        var (afterStatus, after) = await via.PostAsync($"/v1/tables/{movedTable}/query", new { query = $"SELECT v FROM {movedTable}" });
        Assert.Equal(200, afterStatus);
        Assert.Equal(
            writer.Acknowledged[movedTable].Order(StringComparer.Ordinal),
            after.GetProperty("rows").EnumerateArray().Select(r => r[0].GetString()!).Order(StringComparer.Ordinal));
        var (unknownSilo, unknownSiloBody) = await via.PostAsync($"/v1/tables/{movedTable}/move", new { silo = "no-such-silo", tenantId = Tenant });
        Assert.True(unknownSilo == 400 && unknownSiloBody.GetProperty("error").GetProperty("code").GetString() == "INVALID_ARGUMENT", $"{unknownSilo} {unknownSiloBody}");
        var (unknownTable, unknownTableBody) = await via.PostAsync("/v1/tables/no_such_table/move", new { silo = to, tenantId = Tenant });
        Assert.True(unknownTable == 404 && unknownTableBody.GetProperty("error").GetProperty("code").GetString() == "NOT_FOUND", $"{unknownTable} {unknownTableBody}");
    }

    [Fact]
    public async Task A_joining_silo_receives_primaries_from_a_cluster_rebalance_under_a_writer_and_no_acknowledged_write_is_lost()
    {
        var silos = (await StartClusterAsync(2)).ToList();
        var tables = Enumerable.Range(1, 6).Select(i => "r" + i).ToArray();
        foreach (var table in tables)
        {
            await CreateTableAsync(silos[0], table);
        }

        var joined = StartSilo("s3");
        silos.Add(joined);
        foreach (var silo in silos)
        {
            await silo.WaitForActiveSilosAsync(3, FormTimeout);
        }

        var (_, before) = await silos[0].GetAsync("/v1/cluster");
        output.WriteLine("before: " + before);
        Assert.Equal(0, Silo(before, joined.Name).GetProperty("primaries").GetInt64());

        // A writer through the first silo: every write has an idempotency key and is retried until acknowledged.
        var via = silos[0];
        using var stop = new CancellationTokenSource();
        var writer = KeyedWriter.Start(via, tables, stop.Token);

        await Task.Delay(300);
        var (refused, refusal) = await via.PostAsync("/v1/cluster/rebalance", new { maxSkew = 0 });
        Assert.True(refused == 400 && refusal.GetProperty("error").GetProperty("code").GetString() == "INVALID_ARGUMENT", $"{refused} {refusal}");
        var (startStatus, start) = await via.PostAsync("/v1/cluster/rebalance", new { });
        Assert.True(startStatus == 202, $"{startStatus} {start}");
        var progress = await OperationEndAsync(via, start.GetProperty("operationId").GetString()!);
        output.WriteLine("rebalance: " + progress);
        Assert.Equal("completed", progress.GetProperty("state").GetString());
        Assert.Equal("cluster-rebalance", progress.GetProperty("kind").GetString());
        Assert.True(progress.GetProperty("done").GetInt64() >= 2, progress.ToString());
        await Task.Delay(300);
        stop.Cancel();
        await writer.Running;

        // Two primaries on each silo; every acknowledged write there exactly once.
        var (_, after) = await via.GetAsync("/v1/cluster");
        output.WriteLine("after: " + after);
        foreach (var silo in silos)
        {
            Assert.Equal(2, Silo(after, silo.Name).GetProperty("primaries").GetInt64());
        }

        foreach (var table in tables)
        {
            var (status, rows) = await via.PostAsync($"/v1/tables/{table}/query", new { query = $"SELECT v FROM {table}" });
            Assert.True(status == 200, $"{table}: {status} {rows}");
            var values = rows.GetProperty("rows").EnumerateArray().Select(r => r[0].GetString()!).ToList();
            Assert.Equal(writer.Acknowledged[table].Order(StringComparer.Ordinal), values.Order(StringComparer.Ordinal));
        }

        // Balanced already: a second rebalance moves nothing.
        var (_, again) = await via.PostAsync("/v1/cluster/rebalance", new { maxSkew = 1 });
        var second = await OperationEndAsync(via, again.GetProperty("operationId").GetString()!);
        Assert.Equal("completed", second.GetProperty("state").GetString());
        Assert.Equal(0, second.GetProperty("done").GetInt64());
    }

    /// <summary>
    /// Inserts into <c>tables</c> in turn through one silo until stopped; each write carries an idempotency key and is
    /// retried on 503 (at most 200 times, 25 ms apart) until acknowledged. Any other answer fails the test.
    /// </summary>
    private sealed class KeyedWriter
    {
        public Dictionary<string, List<string>> Acknowledged { get; } = new(StringComparer.Ordinal);

        /// <summary>The longest time one write took until acknowledged (the stall a client saw).</summary>
        public TimeSpan Longest { get; private set; }

        public Task Running { get; private set; } = Task.CompletedTask;

        public static KeyedWriter Start(SiloProcess via, string[] tables, CancellationToken stop)
        {
            var writer = new KeyedWriter();
            foreach (var table in tables)
            {
                writer.Acknowledged[table] = [];
            }

            writer.Running = Task.Run(async () =>
            {
                for (var n = 0; !stop.IsCancellationRequested; n++)
                {
                    var table = tables[n % tables.Length];
                    var value = "w" + n;
                    var started = Stopwatch.StartNew();
                    for (var attempt = 0; ; attempt++)
                    {
                        var (status, body) = await via.PostAsync($"/v1/tables/{table}/mutation", new { query = $"INSERT INTO {table}(v) VALUES (?)", @params = new object[] { value }, idempotencyKey = value });
                        if (status == 200)
                        {
                            writer.Acknowledged[table].Add(value);
                            break;
                        }

                        Assert.True(status == 503 && attempt < 200, $"write {value} to {table}: {status} {body}");
                        await Task.Delay(25);
                    }

                    if (started.Elapsed > writer.Longest)
                    {
                        writer.Longest = started.Elapsed;
                    }
                }
            });
            return writer;
        }
    }

    /// <summary>The operation's record once it is no longer running (60 s at most).</summary>
    private static async Task<JsonElement> OperationEndAsync(SiloProcess via, string operation)
    {
        JsonElement progress = default;
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            (_, progress) = await via.GetClusterOperationAsync(operation);
            if (progress.GetProperty("state").GetString() != "running")
            {
                break;
            }

            await Task.Delay(100);
        }

        return progress;
    }

    [Fact]
    public async Task A_tenants_storage_quota_counts_its_tables_on_every_silo_whichever_silo_a_write_arrives_at()
    {
        const long quota = 1024 * 1024;
        var silos = await StartClusterAsync(settings: new Dictionary<string, string>
        {
            ["Shards__Limits__MaxTenantStorageBytes"] = quota.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Shards__Limits__StorageUsageRefresh"] = "00:00:00",
        });
        var tables = new[] { "q1", "q2", "q3" };
        foreach (var table in tables)
        {
            await CreateTableAsync(silos[0], table);
        }

        var primaries = new Dictionary<string, string>();
        foreach (var table in tables)
        {
            primaries[table] = await PrimaryOfAsync(silos[0], table);
        }

        Assert.Equal(3, primaries.Values.Distinct().Count()); // one table per silo

        // 64 KiB rows, round-robin over the tables, each written through the silo that holds the table after it, until
        // the quota refuses one.
        JsonElement refusal = default;
        SiloProcess? refusedVia = null;
        for (var n = 0; n < 200 && refusedVia is null; n++)
        {
            var table = tables[n % 3];
            var via = silos.Single(s => s.Name == primaries[tables[(n + 1) % 3]]);
            var (status, body) = await via.PostAsync($"/v1/tables/{table}/mutation", new { query = $"INSERT INTO {table}(v) VALUES (hex(randomblob(32768)))" });
            if (status != 200)
            {
                Assert.True(body.ValueKind == JsonValueKind.Object && body.TryGetProperty("error", out _), $"{status} {body}");
                (refusal, refusedVia) = (body, via);
            }
        }

        Assert.True(refusedVia is not null, "no write was refused");
        output.WriteLine("refused: " + refusal);
        Assert.Equal("CAPACITY_EXCEEDED", refusal.GetProperty("error").GetProperty("code").GetString());

        // The silos together hold the quota; the silo that refused holds well under it on its own disk.
        var perSilo = silos.ToDictionary(s => s.Name, s => DirectoryBytes(Path.Combine(s.DataDirectory, Tenant)));
        output.WriteLine("tenant bytes per silo: " + string.Join(", ", perSilo));
        Assert.True(perSilo.Values.Sum() >= quota, $"refused at {perSilo.Values.Sum()} bytes in all");
        Assert.True(perSilo[refusedVia.Name] < quota, $"the refusing silo alone holds {perSilo[refusedVia.Name]} bytes");

        // Reads and space-freeing statements still pass.
        Assert.Equal(200, (await refusedVia.PostAsync("/v1/tables/q1/query", new { query = "SELECT count(*) FROM q1" })).Status);
        foreach (var table in tables)
        {
            var (deleted, body) = await refusedVia.PostAsync($"/v1/tables/{table}/mutation", new { query = $"DELETE FROM {table}" });
            Assert.True(deleted == 200, $"{deleted} {body}");
        }
    }

    private static long DirectoryBytes(string directory) =>
        Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Sum(f =>
            {
                try
                {
                    return new FileInfo(f).Length;
                }
                catch (FileNotFoundException)
                {
                    return 0L;
                }
            })
            : 0;

    /// <summary>The commit sequence of a bookmark (<c>{sequence:16 digits}.{tenant}.{table}</c>).</summary>
    private static long SequenceOf(string bookmark) => long.Parse(bookmark.Split('.')[0], System.Globalization.CultureInfo.InvariantCulture);

    private static JsonElement Silo(JsonElement cluster, string name) =>
        cluster.GetProperty("silos").EnumerateArray().First(s => s.GetProperty("name").GetString() == name);

    [Fact]
    public async Task A_table_sharded_in_a_cluster_spreads_its_partitions_answers_fan_out_and_unshards()
    {
        var silos = await StartClusterAsync();
        await CreateTableAsync(silos[0], "orders");
        var statements = Enumerable.Range(1, 60).Select(i => new { query = "INSERT INTO orders(id, v) VALUES (?, ?)", @params = new object[] { i, "o" + i } }).ToArray();
        var (batch, batchBody) = await silos[0].PostAsync("/v1/tables/orders/batch", new { statements });
        Assert.True(batch == 200, $"{batch} {batchBody}");

        var (sharded, shardBody) = await silos[1].PostAsync("/v1/tables/orders/shard", new { key = "id", count = 3 });
        Assert.True(sharded == 200, $"shard: {sharded} {shardBody}\n{silos[0].Tail()}\n{silos[1].Tail()}\n{silos[2].Tail()}");

        // A fan-out count(*) answers one row per partition.
        Assert.Equal(60, await SumOfCountsAsync(silos[2], "orders"));
        var (write, writeBody) = await silos[2].PostAsync("/v1/tables/orders/mutation", new { query = "INSERT INTO orders(id, v) VALUES (61, 'o61')", shardKey = 61 });
        Assert.True(write == 200, $"{write} {writeBody}");
        Assert.Equal(61, await SumOfCountsAsync(silos[0], "orders"));
        var (_, clusterAfter) = await silos[0].GetAsync("/v1/cluster");
        var holding = clusterAfter.GetProperty("silos").EnumerateArray().Count(s => s.GetProperty("primaries").GetInt64() > 0);
        output.WriteLine("silos holding primaries after sharding: " + holding + " " + clusterAfter);
        Assert.True(holding >= 2, "the partitions did not spread: " + clusterAfter);

        var (unsharded, unshardBody) = await silos[0].PostAsync("/v1/tables/orders/unshard", new { });
        Assert.True(unsharded == 200, $"unshard: {unsharded} {unshardBody}");
        Assert.Equal(61, await CountAsync(silos[1], "orders"));

        // The partitions' entries left the map with their files: only the table itself is owned now.
        var (_, final) = await silos[0].GetAsync("/v1/cluster");
        Assert.Equal(1, final.GetProperty("silos").EnumerateArray().Sum(s => s.GetProperty("primaries").GetInt64()));
    }
}

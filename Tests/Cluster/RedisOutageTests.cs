using System.Diagnostics;
using OrleansShards.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansShards.Tests.Cluster;

/// <summary>
/// A running three-silo cluster whose Redis (membership, reminders, ownership map, stream, cache) goes away and comes
/// back (append-only file on, as in every deployment example): shards already open keep serving reads and writes,
/// a new table is refused with UNAVAILABLE (503, retryable) quickly instead of hanging, and once Redis is back new
/// tables are placed again. docs/cluster.md, "When Redis is unreachable", describes this.
/// </summary>
[Collection(OrleansShards.Tests.Caching.LatencyCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class RedisOutageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan FormTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The longest a refused table creation may take while Redis is down.</summary>
    private static readonly TimeSpan RefusalBound = TimeSpan.FromSeconds(3);

    private readonly TempDirectory _root = new("redis-outage");
    private readonly List<SiloProcess> _silos = [];
    private readonly string _serviceId = "r" + Guid.NewGuid().ToString("N")[..8];
    private RedisServerFixture _redis = null!;

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_root.Combine("redis"));
        _redis = new RedisServerFixture { AppendOnlyDirectory = _root.Combine("redis") };
        return _redis.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        await _redis.DisposeAsync();
        _root.Dispose();
    }

    private static async Task<(int Status, System.Text.Json.JsonElement Body, TimeSpan Took)> TimedAsync(Task<(int Status, System.Text.Json.JsonElement Body)> call)
    {
        var watch = Stopwatch.StartNew();
        var (status, body) = await call;
        return (status, body, watch.Elapsed);
    }

    [Fact]
    public async Task Open_shards_keep_serving_while_redis_is_down_new_tables_answer_unavailable_and_work_again_after_it_returns()
    {
        var silos = Enumerable.Range(1, 3).Select(i => SiloProcess.Start(_redis.Configuration, _serviceId, "s" + i, _root.Combine("s" + i))).ToArray();
        _silos.AddRange(silos);
        foreach (var silo in silos)
        {
            await silo.WaitForActiveSilosAsync(3, FormTimeout);
        }

        var tables = new[] { "a1", "a2", "a3", "a4" };
        foreach (var table in tables)
        {
            var (s, b) = await silos[0].PostAsync($"/v1/tables/{table}/ddl", new { query = $"CREATE TABLE {table}(id INTEGER PRIMARY KEY, v TEXT)" });
            Assert.True(s == 200, $"{s} {b}");
            (s, b) = await silos[1].PostAsync($"/v1/tables/{table}/mutation", new { query = $"INSERT INTO {table}(v) VALUES ('before')" });
            Assert.True(s == 200, $"{s} {b}");
        }

        await _redis.StopAsync();
        output.WriteLine("redis-server stopped");

        // Reads and writes of open shards, through every silo (so across silos too), for a while.
        var errors = new List<string>();
        var writes = 0;
        var slowest = TimeSpan.Zero;
        var outage = Stopwatch.StartNew();
        while (outage.Elapsed < TimeSpan.FromSeconds(8))
        {
            foreach (var silo in silos)
            {
                foreach (var table in tables)
                {
                    var write = await TimedAsync(silo.PostAsync($"/v1/tables/{table}/mutation", new { query = $"INSERT INTO {table}(v) VALUES ('during')" }));
                    var read = await TimedAsync(silo.PostAsync($"/v1/tables/{table}/query", new { query = $"SELECT count(*) FROM {table}" }));
                    slowest = new[] { slowest, write.Took, read.Took }.Max();
                    if (write.Status == 200)
                    {
                        writes++;
                    }
                    else
                    {
                        errors.Add($"write {table} via {silo.Name}: {write.Status} {write.Body} after {write.Took.TotalMilliseconds:0} ms");
                    }

                    if (read.Status != 200)
                    {
                        errors.Add($"read {table} via {silo.Name}: {read.Status} {read.Body} after {read.Took.TotalMilliseconds:0} ms");
                    }
                }
            }
        }

        output.WriteLine($"{writes} writes acknowledged during the outage; slowest call {slowest.TotalMilliseconds:0} ms");
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(10)) + "\n" + silos[0].Tail());

        // A new table needs the ownership map: refused, typed, retryable, fast — through every silo.
        foreach (var silo in silos)
        {
            var (status, body, took) = await TimedAsync(silo.PostAsync("/v1/tables/during_outage/ddl", new { query = "CREATE TABLE during_outage(id INTEGER PRIMARY KEY)" }));
            output.WriteLine($"new table via {silo.Name}: {status} {body} in {took.TotalMilliseconds:0} ms");
            Assert.True(status == 503, $"{status} {body}\n{silo.Tail()}");
            Assert.Equal("UNAVAILABLE", body.GetProperty("error").GetProperty("code").GetString());
            Assert.True(body.GetProperty("error").GetProperty("retryable").GetBoolean());
            Assert.True(took < RefusalBound, $"refusing the new table took {took}");
        }

        // Redis returns (same port, its append-only file): new tables are placed again, the old ones kept their rows.
        await _redis.StartAsync();
        output.WriteLine("redis-server started again");
        var created = false;
        var recovery = Stopwatch.StartNew();
        while (!created && recovery.Elapsed < TimeSpan.FromSeconds(30))
        {
            var (status, body) = await silos[2].PostAsync("/v1/tables/after_outage/ddl", new { query = "CREATE TABLE after_outage(id INTEGER PRIMARY KEY, v TEXT)" });
            created = status == 200;
            if (!created)
            {
                Assert.True(status == 503, $"{status} {body}");
                await Task.Delay(250);
            }
        }

        Assert.True(created, "no new table within 30 s of Redis' return\n" + silos[2].Tail());
        output.WriteLine($"new tables placed again {recovery.ElapsedMilliseconds} ms after Redis returned");
        var (ws, wb) = await silos[0].PostAsync("/v1/tables/after_outage/mutation", new { query = "INSERT INTO after_outage(v) VALUES ('after')" });
        Assert.True(ws == 200, $"{ws} {wb}");
        var (ps, placement) = await silos[1].GetAsync("/v1/tables/after_outage/placement");
        Assert.True(ps == 200, $"{ps} {placement}");

        foreach (var table in tables)
        {
            var (s, b) = await silos[2].PostAsync($"/v1/tables/{table}/query", new { query = $"SELECT count(*) FROM {table} WHERE v = 'before'" });
            Assert.True(s == 200, $"{s} {b}");
            Assert.Equal(1, b.GetProperty("rows")[0][0].GetInt64());
        }

        foreach (var silo in silos)
        {
            await silo.WaitForActiveSilosAsync(3, TimeSpan.FromSeconds(30));
        }
    }
}

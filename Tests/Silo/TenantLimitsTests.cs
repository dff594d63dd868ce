using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Silo.Http;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Silo;

/// <summary>A silo whose tenants may run one request at a time (no rate limit).</summary>
public sealed class OneRequestPerTenantSilo : SiloFactory
{
    public OneRequestPerTenantSilo()
    {
        Settings["Shards:Limits:MaxConcurrentRequestsPerTenant"] = "1";
        Settings["Shards:Limits:RequestsPerWindow"] = "0";
    }
}

/// <summary>A silo whose tenants may start 3 requests, then 1 per hour (a bucket the test never sees refilled).</summary>
public sealed class RateLimitedSilo : SiloFactory
{
    public RateLimitedSilo()
    {
        Settings["Shards:Limits:MaxConcurrentRequestsPerTenant"] = "0";
        Settings["Shards:Limits:RequestsPerWindow"] = "1";
        Settings["Shards:Limits:RequestBurst"] = "3";
        Settings["Shards:Limits:RequestRateWindow"] = "01:00:00";
    }
}

/// <summary>A silo whose tenants may store 1 byte, measured at every write.</summary>
public sealed class TinyQuotaSilo : SiloFactory
{
    public TinyQuotaSilo()
    {
        Settings["Shards:Limits:MaxTenantStorageBytes"] = "1";
        Settings["Shards:Limits:StorageUsageRefresh"] = "00:00:00";
    }
}

/// <summary>A silo whose tenants may store 1,000,000 bytes, measured at every write.</summary>
public sealed class SmallQuotaSilo : SiloFactory
{
    public SmallQuotaSilo()
    {
        Settings["Shards:Limits:MaxTenantStorageBytes"] = "1000000";
        Settings["Shards:Limits:StorageUsageRefresh"] = "00:00:00";
    }
}

/// <summary>
/// Per-tenant limits (issue 15 item 5): one tenant's requests over its concurrency or rate limit answer OVERLOADED
/// with Retry-After while other tenants are served; a tenant over its storage quota cannot grow it.
/// </summary>
public sealed class TenantLimitsTests(OneRequestPerTenantSilo oneAtATime, RateLimitedSilo rateLimited, TinyQuotaSilo tinyQuota, SmallQuotaSilo smallQuota)
    : IClassFixture<OneRequestPerTenantSilo>, IClassFixture<RateLimitedSilo>, IClassFixture<TinyQuotaSilo>, IClassFixture<SmallQuotaSilo>
{
    private const string Select = """{"query":"SELECT count(*) FROM items"}""";
    private const string CreateItems = """{"query":"CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY)"}""";

    [Fact]
    public async Task Requests_answer_OVERLOADED_with_Retry_After_when_the_tenant_uses_all_its_slots_and_other_tenants_are_served()
    {
        var busy = oneAtATime.CreateTenantClient("busy");
        var other = oneAtATime.CreateTenantClient("other");
        var limiter = oneAtATime.Services.GetRequiredService<TenantRequestLimiter>();
        await busy.PostOkAsync("/v1/tables/items/ddl", CreateItems);
        await other.PostOkAsync("/v1/tables/items/ddl", CreateItems);

        using (var slot = limiter.Acquire("busy"))
        {
            Assert.True(slot.IsAcquired);
            using var refused = await busy.PostRawAsync("/v1/tables/items/query", Select);
            await SiloHttp.AssertErrorAsync(refused, "OVERLOADED", 429);
            Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
            await other.PostOkAsync("/v1/tables/items/query", Select);
        }

        await busy.PostOkAsync("/v1/tables/items/query", Select);
        Assert.Equal(0, limiter.InFlight("busy"));
    }

    [Fact]
    public async Task Requests_answer_OVERLOADED_with_Retry_After_when_the_tenant_spent_its_request_rate()
    {
        var spender = rateLimited.CreateTenantClient("spender");
        var other = rateLimited.CreateTenantClient("saver");
        await spender.PostOkAsync("/v1/tables/items/ddl", CreateItems);
        await other.PostOkAsync("/v1/tables/items/ddl", CreateItems);
        for (var i = 0; i < 2; i++)
        {
            await spender.PostOkAsync("/v1/tables/items/query", Select);
        }

        using var refused = await spender.PostRawAsync("/v1/tables/items/query", Select);
        await SiloHttp.AssertErrorAsync(refused, "OVERLOADED", 429);
        var retryAfter = long.Parse(refused.Headers.GetValues("Retry-After").Single(), CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 60, 3600); // the next token comes with the next hourly window
        await other.PostOkAsync("/v1/tables/items/query", Select);
    }

    [Fact]
    public async Task A_delete_let_through_over_the_quota_is_refused_when_it_grows_storage_after_all()
    {
        // Set up while under the quota (the tenant stores nothing yet): a trigger that writes 200 KB for each deleted row.
        var sly = tinyQuota.CreateTenantClient("sly");
        await sly.PostOkAsync("/v1/tables/t/ddl", """
            {"query":"CREATE TABLE t (id INTEGER PRIMARY KEY); CREATE TABLE pad (b BLOB); CREATE TRIGGER g AFTER DELETE ON t BEGIN INSERT INTO pad VALUES (zeroblob(200000)); END; INSERT INTO t (id) VALUES (1), (2), (3); CREATE TABLE u (id INTEGER PRIMARY KEY); CREATE TRIGGER h AFTER DELETE ON u BEGIN INSERT INTO pad VALUES (x'01'); END; INSERT INTO u (id) VALUES (1), (2)"}
            """);

        // Over the quota now: a DELETE is let through as freeing space, but the shard finds that it grew and rolls it back.
        var refused = await sly.PostErrorAsync("/v1/tables/t/mutation", """{"query":"DELETE FROM t"}""", "CAPACITY_EXCEEDED", 507);
        Assert.Contains("quota", refused, StringComparison.Ordinal);
        await sly.PostErrorAsync("/v1/tables/t/batch", """{"statements":[{"query":"DELETE FROM t WHERE id = 1"}]}""", "CAPACITY_EXCEEDED", 507);
        var count = await sly.PostOkAsync("/v1/tables/t/query", """{"query":"SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM pad)"}""");
        Assert.Equal(3, count.GetProperty("rows")[0][0].GetInt64());
        Assert.Equal(0, count.GetProperty("rows")[0][1].GetInt64());

        // A trigger inserting a row too small to grow the file by a page is refused as well: one such DELETE per request
        // would otherwise add up without bound.
        await sly.PostErrorAsync("/v1/tables/t/mutation", """{"query":"DELETE FROM u WHERE id = 1"}""", "CAPACITY_EXCEEDED", 507);
        count = await sly.PostOkAsync("/v1/tables/t/query", """{"query":"SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM pad)"}""");
        Assert.Equal(2, count.GetProperty("rows")[0][0].GetInt64());
        Assert.Equal(0, count.GetProperty("rows")[0][1].GetInt64());

        // Without the trigger the same DELETE frees space and is served.
        await sly.PostOkAsync("/v1/tables/t/ddl", """{"query":"DROP TRIGGER g"}""");
        await sly.PostOkAsync("/v1/tables/t/mutation", """{"query":"DELETE FROM t"}""");
    }

    [Fact]
    public async Task A_transaction_queued_under_the_quota_does_not_commit_growth_once_the_tenant_is_over_it()
    {
        var stager = smallQuota.CreateTenantClient("stager");
        await stager.PostOkAsync("/v1/tables/t/ddl", """{"query":"CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)"}""");
        var begin = await stager.PostOkAsync("/v1/tables/t/transaction", """{"operation":"BEGIN"}""");
        var id = begin.GetProperty("transactionId").GetString();

        // Queued while under the quota, then the tenant goes over it with a direct write.
        await stager.PostOkAsync("/v1/tables/t/mutation", $$"""{"query":"INSERT INTO t (b) VALUES (zeroblob(500000))","transactionId":"{{id}}"}""");
        await stager.PostOkAsync("/v1/tables/t/mutation", """{"query":"INSERT INTO t (b) VALUES (zeroblob(1500000))"}""");

        // The COMMIT would grow the shard: refused, nothing of it applied, and the transaction still open.
        await stager.PostErrorAsync("/v1/tables/t/transaction", $$"""{"operation":"COMMIT","transactionId":"{{id}}"}""", "CAPACITY_EXCEEDED", 507);
        var count = await stager.PostOkAsync("/v1/tables/t/query", """{"query":"SELECT count(*) FROM t"}""");
        Assert.Equal(1, count.GetProperty("rows")[0][0].GetInt64());
        await stager.PostOkAsync("/v1/tables/t/transaction", $$"""{"operation":"ROLLBACK","transactionId":"{{id}}"}""");
    }

    [Fact]
    public async Task Writes_answer_CAPACITY_EXCEEDED_when_the_tenant_is_over_its_storage_quota_and_reads_and_deletes_still_work()
    {
        var full = tinyQuota.CreateTenantClient("hoarder");
        await full.PostOkAsync("/v1/tables/a/ddl", """{"query":"CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT)"}""");

        await full.PostErrorAsync("/v1/tables/a/mutation", """{"query":"INSERT INTO a (v) VALUES ('x')"}""", "CAPACITY_EXCEEDED", 507);
        await full.PostErrorAsync("/v1/tables/b/ddl", """{"query":"CREATE TABLE b (id INTEGER PRIMARY KEY)"}""", "CAPACITY_EXCEEDED", 507);
        await full.PostErrorAsync("/v1/tables/a/batch", """{"statements":[{"query":"DELETE FROM a"},{"query":"INSERT INTO a (v) VALUES ('y')"}]}""", "CAPACITY_EXCEEDED", 507);
        await full.PostOkAsync("/v1/tables/a/mutation", """{"query":"DELETE FROM a"}""");
        await full.PostOkAsync("/v1/tables/a/query", """{"query":"SELECT count(*) FROM a"}""");

        // A restore keeps a snapshot of what it replaces: refused too (the bookmark is not even read).
        await full.PostErrorAsync("/v1/tables/a/pitr/restore", """{"bookmark":"any"}""", "CAPACITY_EXCEEDED", 507);

        // Sharding changes copy rows and create files: refused too (checked before the registry is called).
        await full.PostErrorAsync("/v1/tables/a/shard", """{"key":"id","count":4}""", "CAPACITY_EXCEEDED", 507);
        await full.PostErrorAsync("/v1/tables/a/unshard", "{}", "CAPACITY_EXCEEDED", 507);
        await full.PostErrorAsync("/v1/tables/a/rebalance", """{"targetCount":2}""", "CAPACITY_EXCEEDED", 507);

        // An idempotency key is at most 256 characters (checked by the shard, before anything runs).
        await tinyQuota.CreateTenantClient("keys").PostOkAsync("/v1/tables/k/ddl", """{"query":"CREATE TABLE k (id INTEGER PRIMARY KEY)"}""");
        await tinyQuota.CreateTenantClient("keys").PostErrorAsync("/v1/tables/k/mutation", $$"""{"query":"DELETE FROM k","idempotencyKey":"{{new string('k', 257)}}"}""", "INVALID_ARGUMENT", 400);

        // A DROP followed by a statement that grows storage is not a DROP: refused like any write.
        await full.PostErrorAsync("/v1/tables/big/ddl", """{"query":"DROP TABLE IF EXISTS z; CREATE TABLE big AS SELECT randomblob(1000) AS b"}""", "CAPACITY_EXCEEDED", 507);

        // The quota is per tenant: another tenant writes.
        await tinyQuota.CreateTenantClient("frugal").PostOkAsync("/v1/tables/a/ddl", """{"query":"CREATE TABLE a (id INTEGER PRIMARY KEY)"}""");
    }

    [Theory]
    [InlineData("DELETE FROM t", true)]
    [InlineData("  drop table t", true)]
    [InlineData("INSERT INTO t VALUES (1)", false)]
    [InlineData("UPDATE t SET v = 1", false)]
    [InlineData(null, false)]
    [InlineData("DELETE FROM t;", true)]
    [InlineData("DROP TABLE IF EXISTS z; CREATE TABLE big AS SELECT randomblob(1000000) AS b", false)]
    [InlineData("DELETE FROM t WHERE 0; INSERT INTO t VALUES (1)", false)]
    public void FreesSpace_is_true_only_for_DELETE_and_DROP(string? sql, bool frees) =>
        Assert.Equal(frees, TenantStorageQuota.FreesSpace(sql));
}

/// <summary>A Kestrel silo whose tenants may run two queries at once; statements run up to a minute (the test cancels its endless ones).</summary>
public sealed class TwoRequestsPerTenantKestrelSilo : KestrelSilo
{
    public TwoRequestsPerTenantKestrelSilo()
    {
        Settings["Shards:Limits:MaxConcurrentQueriesPerTenant"] = "2";
        Settings["Shards:TableShard:StatementTimeout"] = "00:01:00";
    }
}

/// <summary>The per-tenant concurrency limit under a bounded flood over loopback HTTP (issue 15 item 5).</summary>
public sealed class TenantFloodTests(TwoRequestsPerTenantKestrelSilo silo) : IClassFixture<TwoRequestsPerTenantKestrelSilo>
{
    [Fact]
    public async Task Flooding_tenant_is_refused_beyond_its_limit_while_another_tenant_reads()
    {
        using var http = new HttpClient { BaseAddress = silo.Url, Timeout = TimeSpan.FromSeconds(30) };
        var limiter = silo.Services.GetRequiredService<TenantRequestLimiter>();
        await SendAsync(http, "victim", "/v1/tables/kv/ddl", """{"query":"CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)"}""", HttpStatusCode.OK);
        await SendAsync(http, "victim", "/v1/tables/kv/mutation", """{"query":"INSERT INTO kv VALUES (1, 'one')"}""", HttpStatusCode.OK);

        await SendAsync(http, "flooder", "/v1/tables/big/ddl", """{"query":"CREATE TABLE big (id INTEGER PRIMARY KEY)"}""", HttpStatusCode.OK);

        // Two endless queries of the flooder hold its two slots until the test gives up on them (a statement timeout
        // short enough to end them here could end them before the flood is sent on a loaded machine).
        const string Endless = """{"query":"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"}""";
        using var giveUp = new CancellationTokenSource();
        var heavy = Enumerable.Range(0, 2).Select(_ => SendAsync(http, "flooder", "/v1/tables/big/query", Endless, HttpStatusCode.RequestTimeout, giveUp.Token)).ToList();
        await Eventually.TrueAsync(() => limiter.InFlight("flooder") == 2, "the flooder's two heavy queries run", TimeSpan.FromSeconds(10));

        var refused = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => SendAsync(http, "flooder", "/v1/tables/big/query", Endless, HttpStatusCode.TooManyRequests)));
        Assert.All(refused, r => Assert.Contains("OVERLOADED", r, StringComparison.Ordinal));

        // Only queries are held to the query limit: the flooder's writes are served.
        await SendAsync(http, "flooder", "/v1/tables/big/mutation", """{"query":"INSERT INTO big VALUES (1)"}""", HttpStatusCode.OK);
        for (var i = 0; i < 20; i++)
        {
            var row = await SendAsync(http, "victim", "/v1/tables/kv/rows/1", null, HttpStatusCode.OK);
            Assert.Contains("one", row, StringComparison.Ordinal);
        }

        // A client that hangs up frees its slot: the request is aborted and the statement interrupted.
        await giveUp.CancelAsync();
        foreach (var query in heavy)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => query);
        }

        await Eventually.TrueAsync(() => limiter.InFlight("flooder") == 0, "the abandoned queries release their slots", TimeSpan.FromSeconds(10));
        await SendAsync(http, "flooder", "/v1/tables/big/query", """{"query":"SELECT count(*) FROM big"}""", HttpStatusCode.OK);
    }

    private static async Task<string> SendAsync(HttpClient http, string tenant, string path, string? json, HttpStatusCode expected, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(json is null ? HttpMethod.Get : HttpMethod.Post, path);
        request.Headers.Add("X-Tenant-Id", tenant);
        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(expected == response.StatusCode, $"{tenant} {path}: expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        if (expected == HttpStatusCode.TooManyRequests)
        {
            Assert.True(response.Headers.Contains("Retry-After"), "429 without Retry-After");
        }

        return text;
    }
}

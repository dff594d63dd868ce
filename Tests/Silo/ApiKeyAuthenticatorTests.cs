namespace OrleansShards.Tests.Silo;

/// <summary>API keys over HTTP: a key reaches its own tenant's data and nobody else's.</summary>
public sealed class ApiKeyAuthenticatorTests(SecuredSiloFixture silo) : IClassFixture<SecuredSiloFixture>
{
    private const string Ddl = """{"query":"CREATE TABLE IF NOT EXISTS secrets (id INTEGER PRIMARY KEY, v TEXT)"}""";

    [Fact]
    public async Task Requests_answer_UNAUTHENTICATED_when_the_key_is_missing_or_unknown()
    {
        var none = silo.CreateTenantClient("alpha");
        await none.PostErrorAsync("/v1/tables/secrets/ddl", Ddl, "UNAUTHENTICATED", 401);
        using var getNone = await none.GetAsync("/v1/tables/secrets/stats");
        await SiloHttp.AssertErrorAsync(getNone, "UNAUTHENTICATED", 401);

        var unknown = silo.CreateTenantClient("alpha", "not-a-configured-key-at-all");
        await unknown.PostErrorAsync("/v1/tables/secrets/ddl", Ddl, "UNAUTHENTICATED", 401);

        var basic = silo.CreateTenantClient("alpha");
        basic.DefaultRequestHeaders.Authorization = new("Basic", SecuredSiloFixture.AlphaKey);
        await basic.PostErrorAsync("/v1/tables/secrets/ddl", Ddl, "UNAUTHENTICATED", 401);
    }

    [Fact]
    public async Task Key_of_one_tenant_answers_FORBIDDEN_for_another_tenants_data()
    {
        var alpha = silo.CreateTenantClient("alpha", SecuredSiloFixture.AlphaKey);
        await alpha.PostOkAsync("/v1/tables/secrets/ddl", Ddl);
        await alpha.PostOkAsync("/v1/tables/secrets/mutation", """{"query":"INSERT OR REPLACE INTO secrets VALUES (1, 'alpha-only')"}""");

        // Beta's valid key, aimed at alpha by header, by body, and by query parameter.
        var betaAsAlpha = silo.CreateTenantClient("alpha", SecuredSiloFixture.BetaKey);
        await betaAsAlpha.PostErrorAsync("/v1/tables/secrets/query", """{"query":"SELECT v FROM secrets"}""", "FORBIDDEN", 403);
        using var rowAsAlpha = await betaAsAlpha.GetAsync("/v1/tables/secrets/rows/1");
        await SiloHttp.AssertErrorAsync(rowAsAlpha, "FORBIDDEN", 403);

        var beta = silo.CreateTenantClient(tenant: null, SecuredSiloFixture.BetaKey);
        await beta.PostErrorAsync("/v1/tables/secrets/query", """{"tenantId":"alpha","query":"SELECT v FROM secrets"}""", "FORBIDDEN", 403);
        using var byQuery = await beta.GetAsync("/v1/tables/secrets/rows/1?tenantId=alpha");
        await SiloHttp.AssertErrorAsync(byQuery, "FORBIDDEN", 403);

        // Header says beta (its own), body says alpha: refused, never served as either.
        var mixed = silo.CreateTenantClient("beta", SecuredSiloFixture.BetaKey);
        await mixed.PostErrorAsync("/v1/tables/secrets/query", """{"tenantId":"alpha","query":"SELECT v FROM secrets"}""", "INVALID_ARGUMENT", 400);
    }

    [Fact]
    public async Task Each_key_reads_only_its_own_tenants_table()
    {
        var alpha = silo.CreateTenantClient("alpha", SecuredSiloFixture.AlphaKey);
        var beta = silo.CreateTenantClient("beta", SecuredSiloFixture.BetaKey);
        await alpha.PostOkAsync("/v1/tables/mine/ddl", """{"query":"CREATE TABLE IF NOT EXISTS mine (id INTEGER PRIMARY KEY, owner TEXT)"}""");
        await beta.PostOkAsync("/v1/tables/mine/ddl", """{"query":"CREATE TABLE IF NOT EXISTS mine (id INTEGER PRIMARY KEY, owner TEXT)"}""");
        await alpha.PostOkAsync("/v1/tables/mine/mutation", """{"query":"INSERT OR REPLACE INTO mine VALUES (1, 'alpha')"}""");
        await beta.PostOkAsync("/v1/tables/mine/mutation", """{"query":"INSERT OR REPLACE INTO mine VALUES (1, 'beta')"}""");

        var seenByBeta = await beta.PostOkAsync("/v1/tables/mine/query", """{"query":"SELECT owner FROM mine"}""");
        Assert.Equal("beta", Assert.Single(seenByBeta.GetProperty("rows").EnumerateArray())[0].GetString());
        var seenByAlpha = await alpha.GetOkAsync("/v1/tables/mine/rows/1");
        Assert.Contains(seenByAlpha.GetProperty("rows")[0].EnumerateArray(), v => v.ValueKind == System.Text.Json.JsonValueKind.String && v.GetString() == "alpha");
    }

    [Fact]
    public async Task Health_needs_no_key_and_metrics_and_dashboard_need_the_operator_key()
    {
        var anonymous = silo.CreateClient();
        using var health = await anonymous.GetAsync("/health");
        Assert.True(health.IsSuccessStatusCode);

        foreach (var path in new[] { "/metrics", "/dashboard/", "/dashboard/version" })
        {
            using (var none = await anonymous.GetAsync(path))
            {
                await SiloHttp.AssertErrorAsync(none, "UNAUTHENTICATED", 401);
            }

            using (var tenant = await silo.CreateTenantClient("alpha", SecuredSiloFixture.AlphaKey).GetAsync(path))
            {
                await SiloHttp.AssertErrorAsync(tenant, "FORBIDDEN", 403);
            }

            using var operatorClient = silo.CreateTenantClient(null, SecuredSiloFixture.OperatorKey);
            using var allowed = await operatorClient.GetAsync(path);
            Assert.True(allowed.IsSuccessStatusCode, $"{path} with the operator key: {(int)allowed.StatusCode}");
        }

        // The operator key opens no tenant's data, and says so.
        using var data = await silo.CreateTenantClient("alpha", SecuredSiloFixture.OperatorKey).GetAsync("/v1/tables/mine/rows/1");
        Assert.Contains("operator key opens no tenant's data", await SiloHttp.AssertErrorAsync(data, "FORBIDDEN", 403), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_cluster_routes_need_the_operator_key_and_on_an_embedded_silo_moves_are_refused_as_invalid()
    {
        var anonymous = silo.CreateClient();
        var tenant = silo.CreateTenantClient("alpha", SecuredSiloFixture.AlphaKey);
        var operatorClient = silo.CreateTenantClient(null, SecuredSiloFixture.OperatorKey);
        foreach (var (path, body) in new[] { ("/v1/cluster/rebalance", "{}"), ("/v1/cluster/drain", """{"silo":"s1"}"""), ("/v1/tables/t/move", """{"silo":"s1","tenantId":"alpha"}""") })
        {
            using (var none = await anonymous.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json")))
            {
                await SiloHttp.AssertErrorAsync(none, "UNAUTHENTICATED", 401);
            }

            using (var refused = await tenant.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json")))
            {
                await SiloHttp.AssertErrorAsync(refused, "FORBIDDEN", 403);
            }

            // Embedded: there is no other silo to move to.
            using var embedded = await operatorClient.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            await SiloHttp.AssertErrorAsync(embedded, "INVALID_ARGUMENT", 400);
        }

        using var badSkew = await operatorClient.PostAsync("/v1/cluster/rebalance", new StringContent("""{"maxSkew":"one"}""", System.Text.Encoding.UTF8, "application/json"));
        await SiloHttp.AssertErrorAsync(badSkew, "INVALID_ARGUMENT", 400);
        using var cluster = await operatorClient.GetAsync("/v1/cluster");
        Assert.True(cluster.IsSuccessStatusCode, $"/v1/cluster with the operator key: {(int)cluster.StatusCode}");
        // An operation record read naming no tenant is the cluster's (a drain, a cluster rebalance): the operator key's.
        using (var none = await anonymous.GetAsync("/v1/operations/drain-1"))
        {
            await SiloHttp.AssertErrorAsync(none, "UNAUTHENTICATED", 401);
        }

        using (var tenantKeyNoTenant = await silo.CreateTenantClient(null, SecuredSiloFixture.AlphaKey).GetAsync("/v1/operations/drain-1"))
        {
            var error = await SiloHttp.AssertErrorAsync(tenantKeyNoTenant, "INVALID_ARGUMENT", 400);
            Assert.Contains("tenant is required", error, StringComparison.Ordinal);
        }

        using (var unknown = await operatorClient.GetAsync("/v1/operations/drain-1"))
        {
            await SiloHttp.AssertErrorAsync(unknown, "NOT_FOUND", 404);
        }

        using var operatorOnTenant = await silo.CreateTenantClient("alpha", SecuredSiloFixture.OperatorKey).GetAsync("/v1/operations/drain-1");
        await SiloHttp.AssertErrorAsync(operatorOnTenant, "FORBIDDEN", 403);
    }
}

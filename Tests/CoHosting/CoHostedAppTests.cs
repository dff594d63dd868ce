using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using OrleansShards.Samples.CoHosted;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.CoHosting;

/// <summary>Boots samples/CoHosted (an app that co-hosts the silo) and uses its own endpoints and the shard API.</summary>
public sealed class CoHostedAppTests : IClassFixture<CoHostedAppTests.CoHostedFactory>
{
    private readonly CoHostedFactory _factory;

    public CoHostedAppTests(CoHostedFactory factory) => _factory = factory;

    public sealed class CoHostedFactory : WebApplicationFactory<OrleansShards.Samples.CoHosted.Program>
    {
        private readonly TempDirectory _data = new("cohosted");

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            var ports = new Dictionary<string, string?>();
            FreePorts.ForSilo(ports);
            builder.UseSetting("Shards:DataDirectory", _data.Path);
            foreach (var (key, value) in ports)
            {
                builder.UseSetting(key, value);
            }
        }

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (disposing)
            {
                _data.Dispose();
            }
        }
    }

    [Fact]
    public async Task Own_endpoints_write_through_the_in_process_grain_factory_and_the_shard_api_sees_the_rows()
    {
        using var http = _factory.CreateClient();

        var home = await http.GetStringAsync("/");
        var created = await http.PostAsJsonAsync("/tenants/acme/notes", new { text = "buy milk" });
        await http.PostAsJsonAsync("/tenants/acme/notes", new { text = "call bob" });
        var notes = await http.GetFromJsonAsync<List<NotesEndpoints.Note>>("/tenants/acme/notes");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/tables/notes/query")
        {
            Content = JsonContent.Create(new { query = "SELECT count(*) FROM notes" }),
        };
        request.Headers.Add("X-Tenant-Id", "acme");
        using var api = await http.SendAsync(request);
        var apiJson = JsonDocument.Parse(await api.Content.ReadAsStringAsync()).RootElement;

        Assert.Contains("co-hosting", home, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(["buy milk", "call bob"], notes!.Select(n => n.Text));
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        Assert.Equal(2, apiJson.GetProperty("rows")[0][0].GetInt64());
    }

    [Fact]
    public async Task Own_endpoints_surface_shard_errors_and_health_is_served()
    {
        using var http = _factory.CreateClient();

        var health = await http.GetAsync("/health");
        var badTenant = await http.GetAsync("/v1/tables/notes/stats?tenantId=bad-name");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badTenant.StatusCode);
        Assert.Equal("INVALID_ARGUMENT", JsonDocument.Parse(await badTenant.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("POST")]
    public async Task Own_endpoints_answer_typed_errors_when_the_tenant_name_is_invalid(string method)
    {
        // Issue 15 item 12: a%2Fb reached the grain factory as "a/b" and the app answered a bare 500.
        using var http = _factory.CreateClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), "/tenants/a%2Fb/notes");
        if (method == "POST")
        {
            request.Content = JsonContent.Create(new { text = "x" });
        }

        using var response = await http.SendAsync(request);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("INVALID_ARGUMENT", error.GetProperty("code").GetString());
        Assert.False(error.GetProperty("retryable").GetBoolean());
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Hosting;
using OrleansShards.Silo.Hosting;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Silo;

/// <summary>AddShardsSilo / MapShardsApi inside an app of its own: co-hosting, options, real Kestrel limits.</summary>
public sealed class ShardsSiloHostingExtensionsTests
{
    [Fact]
    public async Task AddShardsSilo_co_hosts_the_silo_beside_the_apps_own_endpoints()
    {
        using var data = new TempDirectory("cohost");
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(FreePorts.SiloSettings());
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Configuration["Shards:DataDirectory"] = data.Path;
        builder.AddShardsSilo();
        await using var app = builder.Build();
        app.MapShardsApi();

        // The app's own endpoint uses the grain in-process.
        app.MapGet("/app/items/count", async (IGrainFactory grains) =>
        {
            var shard = grains.GetGrain<ITableShard>("t1:items");
            var result = await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM items"));
            return Results.Text("count=" + result.Rows[0][0].AsInteger);
        });
        await app.StartAsync();
        using var client = app.GetTestClient();

        // Written over the silo's HTTP API ...
        client.DefaultRequestHeaders.Add("X-Tenant-Id", "t1");
        await client.PostOkAsync("/v1/tables/items/ddl", """{"query":"CREATE TABLE items (id INTEGER PRIMARY KEY)"}""");
        await client.PostOkAsync("/v1/tables/items/mutation", """{"query":"INSERT INTO items VALUES (1), (2)"}""");

        // ... and read in-process by the app's own endpoint.
        Assert.Equal("count=2", await client.GetStringAsync("/app/items/count"));
        Assert.True(File.Exists(Path.Combine(data.Path, "t1", "items.db")));
        Assert.Equal(Path.Combine(data.Path, ".silo", "reminders.db"), app.Services.GetRequiredService<IOptions<OrleansShards.Grains.Hosting.Reminders.SqliteReminderTableOptions>>().Value.DatabasePath);
        Assert.True(File.Exists(Path.Combine(data.Path, ".silo", "reminders.db")));
        Assert.Equal(data.Path, app.Services.GetRequiredService<IOptions<TableShardOptions>>().Value.DataDirectory);
        await app.StopAsync();
    }

    [Theory]
    [InlineData("Shards:MaxRequestBodyBytes", "0", "ShardsSiloOptions.MaxRequestBodyBytes must be between 1 and")]
    [InlineData("Shards:MaxConcurrentRequests", "0", "ShardsSiloOptions.MaxConcurrentRequests must be between 1 and")]
    [InlineData("Shards:MaxShardSizeGb", "-1", "Shards:MaxShardSizeGb")]
    [InlineData("MAX_SHARD_SIZE_GB", "lots", "MAX_SHARD_SIZE_GB")]
    [InlineData("Shards:ApiKeys:0:Key", "short", "Shards:ApiKeys:0")]
    public async Task AddShardsSilo_fails_at_start_naming_the_option_when_it_is_invalid(string key, string value, string named)
    {
        using var data = new TempDirectory("invalid");
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(FreePorts.SiloSettings());
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Configuration["Shards:DataDirectory"] = data.Path;
        builder.Configuration["Shards:ApiKeys:0:Tenant"] = "t1";
        builder.Configuration["Shards:ApiKeys:0:KeySha256"] = new string('a', 64);
        if (key == "Shards:ApiKeys:0:Key")
        {
            builder.Configuration["Shards:ApiKeys:0:KeySha256"] = null;
        }

        builder.Configuration[key] = value;
        builder.AddShardsSilo();
        await using var app = builder.Build();
        app.MapShardsApi();

        // The host validates at start (the Orleans silo's host may report several validations together).
        var thrown = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync());
        var error = thrown as OptionsValidationException
            ?? Assert.IsType<OptionsValidationException>(Assert.IsType<AggregateException>(thrown).InnerExceptions[0]);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddShardsSilo_takes_the_shard_size_from_MAX_SHARD_SIZE_GB_unless_the_section_sets_it()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(FreePorts.SiloSettings());
        builder.Configuration["MAX_SHARD_SIZE_GB"] = "0.5";
        builder.AddShardsSilo();
        using var services = builder.Services.BuildServiceProvider();
        Assert.Equal(512L * 1024 * 1024, services.GetRequiredService<IOptions<TableShardOptions>>().Value.MaxShardSizeBytes);

        var overridden = WebApplication.CreateBuilder();

        overridden.Configuration.AddInMemoryCollection(FreePorts.SiloSettings());
        overridden.Configuration["MAX_SHARD_SIZE_GB"] = "0.5";
        overridden.Configuration["Shards:MaxShardSizeBytes"] = "1048576";
        overridden.AddShardsSilo(o => o.MaxRequestBodyBytes = 77);
        using var services2 = overridden.Services.BuildServiceProvider();
        Assert.Equal(1048576, services2.GetRequiredService<IOptions<TableShardOptions>>().Value.MaxShardSizeBytes);
        Assert.Equal(77, services2.GetRequiredService<IOptions<ShardsSiloOptions>>().Value.MaxRequestBodyBytes);
    }

    [Fact]
    public async Task Kestrel_answers_PAYLOAD_TOO_LARGE_for_chunked_and_content_length_bodies()
    {
        using var data = new TempDirectory("kestrel");
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(FreePorts.SiloSettings());
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration["Shards:DataDirectory"] = data.Path;
        builder.Configuration["Shards:MaxRequestBodyBytes"] = "1024";
        builder.AddShardsSilo();
        await using var app = builder.Build();
        app.MapShardsApi();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address) };
        client.DefaultRequestHeaders.Add("X-Tenant-Id", "k");
        await client.PostOkAsync("/v1/tables/items/ddl", """{"query":"CREATE TABLE items (id INTEGER PRIMARY KEY)"}""");
        var big = "{\"query\":\"SELECT ?\",\"params\":[\"" + new string('x', 4096) + "\"]}";

        using var withLength = await client.PostAsync("/v1/tables/items/query", new StringContent(big, Encoding.UTF8, "application/json"));
        await SiloHttp.AssertErrorAsync(withLength, "PAYLOAD_TOO_LARGE", 413);

        using var chunkedContent = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big)));
        chunkedContent.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/tables/items/query") { Content = chunkedContent };
        request.Headers.TransferEncodingChunked = true;
        using var chunked = await client.SendAsync(request);
        await SiloHttp.AssertErrorAsync(chunked, "PAYLOAD_TOO_LARGE", 413);

        // A body under the limit is served on the same server.
        var small = await client.PostOkAsync("/v1/tables/items/query", """{"query":"SELECT ?","params":[9223372036854775807]}""");
        Assert.Equal(long.MaxValue, small.GetProperty("rows")[0][0].GetInt64());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
        await app.StopAsync();
    }
}

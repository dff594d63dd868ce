using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Silo;

/// <summary>
/// The real silo (Program) on a TestServer with its own temp data directory. Settings are configuration
/// keys (e.g. <c>Shards:MaxRequestBodyBytes</c>) applied as host settings, so Program sees them too.
/// </summary>
public class SiloFactory : WebApplicationFactory<Program>
{
    private readonly TempDirectory _data = new("silo");

    public SiloFactory()
    {
        Settings["Shards:DataDirectory"] = _data.Path;
        Settings["Shards:TableShard:StatementTimeout"] = "00:00:00.500";
        FreePorts.ForSilo(Settings);
    }

    public string DataDirectory => _data.Path;

    /// <summary>Configuration applied to the host; set before the first client is created.</summary>
    public Dictionary<string, string?> Settings { get; } = new(StringComparer.Ordinal);

    /// <summary>A client that sends <c>X-Tenant-Id</c> (and a bearer key when given).</summary>
    public HttpClient CreateTenantClient(string? tenant, string? apiKey = null)
    {
        var client = CreateClient();
        if (tenant is not null)
        {
            client.DefaultRequestHeaders.Add("X-Tenant-Id", tenant);
        }

        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in Settings)
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

/// <summary>Raw-JSON helpers, so tests see exactly what goes over the wire.</summary>
public static class SiloHttp
{
    public static Task<HttpResponseMessage> PostRawAsync(this HttpClient client, string path, string json) =>
        client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    public static async Task<JsonElement> PostOkAsync(this HttpClient client, string path, string json)
    {
        using var response = await client.PostRawAsync(path, json);
        return await ReadOkAsync(response);
    }

    public static async Task<JsonElement> GetOkAsync(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return await ReadOkAsync(response);
    }

    public static async Task<JsonElement> ReadOkAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Asserts the answer is the JSON error shape with this code and status; returns the message.</summary>
    public static async Task<string> AssertErrorAsync(HttpResponseMessage response, string code, int status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"expected {status} {code}, got {(int)response.StatusCode}: {text}");
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal(code is "RETRYABLE" or "OVERLOADED", error.GetProperty("retryable").GetBoolean());
        var message = error.GetProperty("message").GetString();
        Assert.False(string.IsNullOrWhiteSpace(message));
        return message!;
    }

    public static async Task<string> PostErrorAsync(this HttpClient client, string path, string json, string code, int status)
    {
        using var response = await client.PostRawAsync(path, json);
        return await AssertErrorAsync(response, code, status);
    }
}

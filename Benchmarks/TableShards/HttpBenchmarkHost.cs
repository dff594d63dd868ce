using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Benchmarks.TableShards;

/// <summary>
/// Two Kestrel servers in this process, both at <c>http://127.0.0.1:{free port}</c>: the real silo
/// (<c>AddShardsSilo</c> + <c>MapShardsApi</c>) and a minimal ASP.NET Core endpoint over raw
/// Microsoft.Data.Sqlite (WAL, <c>synchronous=FULL</c>, System.Text.Json). Both take the same request body
/// (<c>{"tenantId", "query", "params"}</c>) at <c>…/query</c> and <c>…/mutation</c> and are called by the
/// same client code over one warm <see cref="HttpClient"/>.
/// </summary>
internal sealed class HttpBenchmarkHost : IAsyncDisposable
{
    public const string Tenant = "bench";

    private readonly string _directory;
    private readonly WebApplication _silo;
    private readonly WebApplication _minimal;
    private readonly MinimalSqliteEndpoint _endpoint;

    private HttpBenchmarkHost(string directory, WebApplication silo, WebApplication minimal, MinimalSqliteEndpoint endpoint, HttpClient client)
    {
        _directory = directory;
        _silo = silo;
        _minimal = minimal;
        _endpoint = endpoint;
        Client = client;
        SiloBase = Address(silo) + "/v1/tables/items/";
        MinimalBase = Address(minimal) + "/";
    }

    public HttpClient Client { get; }

    /// <summary>The silo's table routes: <c>{SiloBase}query</c>, <c>{SiloBase}mutation</c>.</summary>
    public string SiloBase { get; }

    /// <summary>The minimal endpoint's routes: <c>{MinimalBase}query</c>, <c>{MinimalBase}mutation</c>.</summary>
    public string MinimalBase { get; }

    public static async Task<HttpBenchmarkHost> StartAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "orleansshards-httpbench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);

        var siloBuilder = WebApplication.CreateBuilder();
        siloBuilder.Logging.ClearProviders();
        siloBuilder.Configuration["Shards:DataDirectory"] = Path.Combine(directory, "silo");

        // The per-tenant rate limit (5,000 requests/s by default) is a policy, not a cost: one benchmark client passes
        // it (10,000 point selects/s), and its refusals failed the silo's side of the run. The limiter still runs.
        siloBuilder.Configuration["Shards:Limits:RequestsPerWindow"] = "100000000";
        siloBuilder.Configuration["Shards:Limits:RequestBurst"] = "100000000";
        siloBuilder.Configuration[ShardsSiloHostingExtensions.SiloPortKey] = Infrastructure.EmbeddedSilo.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        siloBuilder.Configuration[ShardsSiloHostingExtensions.GatewayPortKey] = Infrastructure.EmbeddedSilo.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        siloBuilder.WebHost.UseUrls("http://127.0.0.1:0");

        // ORLEANSSHARDS_BENCH_LOCAL_READS=false measures strong reads through the grain call instead of the silo-local
        // read path (Shards:TableShard:LocalReads, on by default).
        siloBuilder.Configuration["Shards:TableShard:LocalReads"] = Environment.GetEnvironmentVariable("ORLEANSSHARDS_BENCH_LOCAL_READS") ?? "true";
        siloBuilder.AddShardsSilo();
        var silo = siloBuilder.Build();
        silo.MapShardsApi();
        await silo.StartAsync();

        var endpoint = new MinimalSqliteEndpoint(Path.Combine(directory, "minimal.db"));
        var minimalBuilder = WebApplication.CreateBuilder();
        minimalBuilder.Logging.ClearProviders();
        minimalBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        var minimal = minimalBuilder.Build();
        minimal.MapPost("/query", endpoint.QueryAsync);
        minimal.MapPost("/mutation", endpoint.MutationAsync);
        await minimal.StartAsync();

        var client = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromHours(1), UseProxy = false })
        {
            DefaultRequestVersion = HttpVersion.Version11,
        };
        var host = new HttpBenchmarkHost(directory, silo, minimal, endpoint, client);
        await host.PostAsync(host.SiloBase + "ddl", Body(ShardBenchmarkHost.Schema, []));
        return host;
    }

    /// <summary>The request body both servers read: <c>{"tenantId":"bench","query":…,"params":[…]}</c>.</summary>
    /// <remarks><c>params</c> is left out when there are none: routes such as <c>/ddl</c> refuse fields they do not take.</remarks>
    public static byte[] Body(string query, ReadOnlySpan<object> parameters)
    {
        using var buffer = new MemoryStream(128);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("tenantId", Tenant);
            json.WriteString("query", query);
            if (parameters.Length > 0)
            {
                json.WriteStartArray("params");
                foreach (var p in parameters)
                {
                    switch (p)
                    {
                        case long l: json.WriteNumberValue(l); break;
                        case int i: json.WriteNumberValue(i); break;
                        case string s: json.WriteStringValue(s); break;
                        default: throw new ArgumentException("long, int or string parameters only.");
                    }
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>The client side of every request: POST the JSON body, read the whole answer, fail on non-2xx.</summary>
    public async Task<int> PostAsync(string url, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = JsonType;
        using var response = await Client.PostAsync(url, content).ConfigureAwait(false);
        var answer = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST {url}: {(int)response.StatusCode} {Encoding.UTF8.GetString(answer)}");
        }

        return answer.Length;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _minimal.StopAsync();
        await _minimal.DisposeAsync();
        _endpoint.Dispose();
        await _silo.StopAsync();
        await _silo.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static readonly MediaTypeHeaderValue JsonType = new("application/json");

    private static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First().TrimEnd('/');
}

/// <summary>
/// The minimal endpoint: reads <c>{"query", "params"}</c> with System.Text.Json, runs the statement as a prepared
/// Microsoft.Data.Sqlite command (cached by text) on one connection (WAL, <c>synchronous=FULL</c>, autocommit, so each
/// write is its own durable commit) and writes the answer with <see cref="Utf8JsonWriter"/>.
/// </summary>
internal sealed class MinimalSqliteEndpoint : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public MinimalSqliteEndpoint(string path)
    {
        _connection = new SqliteConnection($"Data Source={path};Pooling=False");
        _connection.Open();
        using var command = _connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; " + ShardBenchmarkHost.Schema;
        command.ExecuteNonQuery();
    }

    public async Task QueryAsync(HttpContext http)
    {
        var request = await ReadAsync(http);
        http.Response.ContentType = "application/json";
        var json = new Utf8JsonWriter(http.Response.BodyWriter);
        await using (json.ConfigureAwait(false))
        {
            lock (_lock)
            {
                using var reader = Prepare(request).ExecuteReader();
                json.WriteStartObject();
                json.WriteStartArray("columns");
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    json.WriteStringValue(reader.GetName(i));
                }

                json.WriteEndArray();
                json.WriteStartArray("rows");
                while (reader.Read())
                {
                    json.WriteStartArray();
                    for (var i = 0; i < reader.FieldCount; i++)
                    {
                        switch (reader.GetValue(i))
                        {
                            case long l: json.WriteNumberValue(l); break;
                            case double d: json.WriteNumberValue(d); break;
                            case string s: json.WriteStringValue(s); break;
                            case DBNull: json.WriteNullValue(); break;
                            case byte[] b: json.WriteBase64StringValue(b); break;
                        }
                    }

                    json.WriteEndArray();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }
        }
    }

    public async Task MutationAsync(HttpContext http)
    {
        var request = await ReadAsync(http);
        int changes;
        long lastId;
        lock (_lock)
        {
            changes = Prepare(request).ExecuteNonQuery();
            lastId = SQLitePCL.raw.sqlite3_last_insert_rowid(_connection.Handle);
        }

        http.Response.ContentType = "application/json";
        var json = new Utf8JsonWriter(http.Response.BodyWriter);
        await using (json.ConfigureAwait(false))
        {
            json.WriteStartObject();
            json.WriteNumber("changes", changes);
            json.WriteNumber("lastInsertRowId", lastId);
            json.WriteEndObject();
        }
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _connection.Dispose();
    }

    private static async Task<MinimalRequest> ReadAsync(HttpContext http) =>
        await JsonSerializer.DeserializeAsync(http.Request.Body, MinimalJsonContext.Default.MinimalRequest, http.RequestAborted)
        ?? throw new BadHttpRequestException("A JSON body is required.");

    private SqliteCommand Prepare(MinimalRequest request)
    {
        if (!_commands.TryGetValue(request.Query, out var command))
        {
            // Anonymous '?' parameters become numbered ('?1', '?2', …), which Microsoft.Data.Sqlite binds by name.
            var numbered = new StringBuilder(request.Query.Length + 8);
            var n = 0;
            foreach (var c in request.Query)
            {
                numbered.Append(c);
                if (c == '?')
                {
                    numbered.Append(++n);
                }
            }

            command = _connection.CreateCommand();
            command.CommandText = numbered.ToString();
            _commands[request.Query] = command;
        }

        var parameters = request.Params ?? [];
        if (command.Parameters.Count != parameters.Length)
        {
            command.Parameters.Clear();
            for (var i = 0; i < parameters.Length; i++)
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = "?" + (i + 1) });
            }

            command.Prepare();
        }

        for (var i = 0; i < parameters.Length; i++)
        {
            command.Parameters[i].Value = parameters[i].ValueKind switch
            {
                JsonValueKind.Number => parameters[i].TryGetInt64(out var l) ? l : parameters[i].GetDouble(),
                JsonValueKind.String => parameters[i].GetString(),
                JsonValueKind.Null => DBNull.Value,
                _ => throw new BadHttpRequestException("Parameters are numbers, strings or null."),
            };
        }

        return command;
    }
}

internal sealed record MinimalRequest(string Query, JsonElement[]? Params, string? TenantId = null);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(MinimalRequest))]
internal sealed partial class MinimalJsonContext : System.Text.Json.Serialization.JsonSerializerContext;

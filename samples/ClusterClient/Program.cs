using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansShards;
using OrleansShards.Samples.ClusterClient;

// An Orleans client of an OrleansShards cluster: the same grain interfaces as the silos (ITableShard), no HTTP.
// Configuration as on the silos: Shards:Cluster:Redis / ClusterId / ServiceId (env Shards__Cluster__*).
//   dotnet run --project samples/ClusterClient -- --Shards:Cluster:Redis 127.0.0.1:6390 --tenant acme --table notes
var builder = Host.CreateApplicationBuilder(args);
var cluster = new ShardsClusterClient();
builder.Configuration.GetSection(ShardsClusterClient.SectionName).Bind(cluster);
builder.UseOrleansClient(cluster.Configure);
if (builder.Configuration["Logging:LogLevel:Orleans"] is null)
{
    // Orleans reports every connection at Information; configuration may turn it back on.
    builder.Logging.AddFilter("Orleans", LogLevel.Warning);
}

builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);

var tenant = builder.Configuration["tenant"] ?? "acme";
var table = builder.Configuration["table"] ?? "notes";

using var host = builder.Build();
await host.StartAsync();
var client = host.Services.GetRequiredService<IClusterClient>();

// A table is one grain keyed tenant:table; Orleans sends every call to the silo holding its file.
var notes = client.GetGrain<ITableShard>(ShardName.Format(tenant, table));
try
{
    await notes.DdlAsync(new DdlRequest($"CREATE TABLE IF NOT EXISTS {table}(id INTEGER PRIMARY KEY, body TEXT NOT NULL)"));
    var written = await notes.MutateAsync(new MutationRequest($"INSERT INTO {table}(body) VALUES (?)", [SqlValue.FromText("hello from an Orleans client")]));
    var read = await notes.QueryAsync(new QueryRequest($"SELECT count(*) FROM {table}"));
    var placement = await notes.GetPlacementAsync();
    Console.WriteLine($"{tenant}:{table}: inserted row {written.LastInsertRowId}, {read.Rows[0][0].AsInteger} rows, primary {placement.Primary} (epoch {placement.Epoch})");
}
catch (ShardException ex)
{
    // Typed errors cross the wire as they are: UNAVAILABLE is retryable.
    Console.Error.WriteLine($"{ex.Code}{(ex.Retryable ? " (retryable)" : "")}: {ex.Message}");
    return 1;
}
finally
{
    await host.StopAsync();
}

return 0;

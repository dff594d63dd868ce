using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansShards;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Hosting.Reminders;
using OrleansShards.Grains.Sharding;

// Test helper for the kill -9 sharding tests: hosts the grain runtime and table shards over the data directory,
// creates {table}(id INTEGER PRIMARY KEY, org, price) with <rows> rows (ids 0, 10, 20, …) — sharded by id into 3
// range shards first for rebalance and unshard, then skewed by negative ids — then runs two writers doing numbered inserts (ids 10k+1 and
// 10k+2, so they land between the existing rows on every shard) and prints "ack <id>" for each acknowledged one.
// Once writes are flowing it starts <operation> (shard | rebalance | unshard) and SIGKILLs itself the first time
// the operation reaches <step> (a ShardingFaults step name): real process death, no cleanup, no finally blocks.
if (args.Length != 6 || !int.TryParse(args[5], out var rows))
{
    Console.Error.WriteLine("usage: OrleansShards.Tests.ShardCrashHost <data directory> <tenant> <table> <shard|rebalance|unshard> <step> <rows>");
    return 2;
}

var (dataDirectory, tenant, table, operation, step) = (args[0], args[1], args[2], args[3], args[4]);
var builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders();
builder.UseOrleans(silo =>
{
    silo.UseLocalhostClustering(LoopbackPort.Free(), LoopbackPort.Free());
    silo.UseSqliteReminderService(o => o.DatabasePath = Path.Combine(dataDirectory, ".silo", "reminders.db"));
    silo.AddShards(o => o.DataDirectory = dataDirectory);
});

using var host = builder.Build();
await host.StartAsync();
var grains = host.Services.GetRequiredService<IGrainFactory>();
var shard = grains.GetGrain<ITableShard>(ShardName.Format(tenant, table));
var registry = grains.GetGrain<IShardRegistry>(ShardName.Format(tenant, table));

await shard.DdlAsync(new DdlRequest($"CREATE TABLE IF NOT EXISTS {table}(id INTEGER PRIMARY KEY, org TEXT NOT NULL, price REAL)"));
await InsertAsync(shard, table, Enumerable.Range(0, rows).Select(i => (long)i * 10));
if (operation is "rebalance" or "unshard")
{
    await registry.ShardAsync(new ShardRequest("id", 3, ShardStrategies.Range));

    // Skew: a block below the first split point, all in shard 0, for a full rebalance to spread.
    await InsertAsync(shard, table, Enumerable.Range(1, rows / 2).Select(i => -(long)i));
}

// Armed only now: the setup above may pass through the same steps.
host.Services.GetRequiredService<ShardingFaults>().OnStep = reached =>
{
    if (reached == step)
    {
        Console.Out.Flush();
        Process.GetCurrentProcess().Kill(); // SIGKILL on Unix
    }
};

var acknowledged = 0;
using var stop = new CancellationTokenSource();
var writers = Enumerable.Range(1, 2).Select(w => Task.Run(async () =>
{
    for (long k = 0; !stop.IsCancellationRequested; k++)
    {
        var id = (k * 10) + w;
        try
        {
            await shard.MutateAsync(new MutationRequest($"INSERT INTO {table}(id, org, price) VALUES (?, ?, ?)", [id, "w" + w, (double)k], ShardKey: id));
            Console.WriteLine("ack " + id);
            Interlocked.Increment(ref acknowledged);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not acknowledged (refused or failed); the id is not retried.
            Console.Error.WriteLine("error " + id + " " + ex.Message);
        }
    }
})).ToList();

while (Volatile.Read(ref acknowledged) < 20)
{
    await Task.Delay(5);
}

Console.WriteLine("started " + operation);
switch (operation)
{
    case "shard":
        await registry.ShardAsync(new ShardRequest("id", 3));
        break;
    case "rebalance":
        await registry.RebalanceAsync(new RebalanceRequest(Strategy: "full"));
        break;
    case "unshard":
        await registry.UnshardAsync();
        break;
    default:
        throw new ArgumentException("unknown operation " + operation);
}

// Reaching here means the step was never hit: the test reports it.
await stop.CancelAsync();
await Task.WhenAll(writers);
Console.WriteLine("completed " + operation);
await host.StopAsync();
return 0;

static async Task InsertAsync(ITableShard shard, string table, IEnumerable<long> ids)
{
    foreach (var chunk in ids.Chunk(500))
    {
        var statements = chunk.Select(id => new Statement($"INSERT INTO {table}(id, org, price) VALUES (?, ?, ?)", [id, "org" + (id % 40), (double)id])).ToList();
        await shard.BatchAsync(new BatchRequest(statements) { ShardKey = chunk[0] });
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansShards;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Hosting.Reminders;

// Test helper for the kill -9 durability test: hosts one shard in-process over the data directory
// given as the first argument, runs concurrent numbered inserts forever, and prints "ack <id>" for
// each insert only after the shard acknowledged it. The test kills this process with SIGKILL.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: OrleansShards.Tests.CrashHost <data directory>");
    return 2;
}

var builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders();
builder.UseOrleans(silo =>
{
    silo.UseLocalhostClustering(LoopbackPort.Free(), LoopbackPort.Free());
    silo.UseSqliteReminderService(o => o.DatabasePath = Path.Combine(args[0], ".silo", "reminders.db"));
    silo.AddShards(o => o.DataDirectory = args[0]);
});
using var host = builder.Build();
await host.StartAsync();

var shard = host.Services.GetRequiredService<IGrainFactory>().GetGrain<ITableShard>(ShardName.Format("crash", "items"));
await shard.DdlAsync(new DdlRequest("CREATE TABLE IF NOT EXISTS items(id INTEGER PRIMARY KEY, payload TEXT NOT NULL)"));
var output = Console.Out;
var gate = new Lock();
lock (gate)
{
    output.WriteLine("ready");
    output.Flush();
}

long next = 0;
await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
{
    while (true)
    {
        var id = Interlocked.Increment(ref next);
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(id, payload) VALUES (?, ?)", [id, "payload-" + id]));
        lock (gate)
        {
            output.WriteLine("ack " + id);
            output.Flush();
        }
    }
})));
return 0;

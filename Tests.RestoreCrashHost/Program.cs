using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansShards;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Hosting.Reminders;
using OrleansShards.Grains.Pitr;

// Test helper for the kill -9 restore test: hosts the shard {tenant}:{table} in-process over the data
// directory and restores it to the bookmark. With PITR_CRASH_AT set to a RestoreStep name, the process
// SIGKILLs itself right after that durable step: real process death, no cleanup, no finally blocks.
if (args.Length != 4)
{
    Console.Error.WriteLine("usage: OrleansShards.Tests.RestoreCrashHost <data directory> <tenant> <table> <bookmark>");
    return 2;
}

var crashAt = Environment.GetEnvironmentVariable("PITR_CRASH_AT");
var builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders();
builder.UseOrleans(silo =>
{
    silo.UseLocalhostClustering(LoopbackPort.Free(), LoopbackPort.Free());
    silo.UseSqliteReminderService(o => o.DatabasePath = Path.Combine(args[0], ".silo", "reminders.db"));
    silo.AddShards(o => o.DataDirectory = args[0]);
});
if (!string.IsNullOrEmpty(crashAt))
{
    builder.Services.AddSingleton<IRestoreStepObserver>(new KillAtStep(Enum.Parse<RestoreStep>(crashAt)));
}

using var host = builder.Build();
await host.StartAsync();
var shard = host.Services.GetRequiredService<IGrainFactory>().GetGrain<ITableShard>(ShardName.Format(args[1], args[2]));
var result = await shard.RestoreAsync(new RestoreRequest(args[3]));
Console.WriteLine("restored " + result.RestoredTo + " undo " + result.UndoBookmark);
await host.StopAsync();
return 0;

internal sealed class KillAtStep(RestoreStep step) : IRestoreStepObserver
{
    public void OnStep(RestoreStep reached)
    {
        if (reached == step)
        {
            Console.Out.Flush();
            Process.GetCurrentProcess().Kill(); // SIGKILL on Unix
        }
    }
}

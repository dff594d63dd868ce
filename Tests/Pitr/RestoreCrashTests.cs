using System.Diagnostics;
using OrleansShards.Grains.Pitr;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Pitr;

/// <summary>
/// kill -9 during a restore: a real child process (Tests.RestoreCrashHost) restores the shard and SIGKILLs
/// itself right after a chosen durable step; the shard, reopened, holds the old or the new state, never a mix.
/// </summary>
public sealed class RestoreCrashTests
{
    private const string Tenant = "crash";
    private const string Table = "items";

    [Theory]
    [InlineData(nameof(RestoreStep.Prepared), false)]
    [InlineData(nameof(RestoreStep.MarkerWritten), true)]
    [InlineData(nameof(RestoreStep.OldWalRemoved), true)]
    [InlineData(nameof(RestoreStep.Renamed), true)]
    [InlineData("", true)]
    public async Task RestoreAsync_leaves_the_old_or_the_new_state_when_the_process_is_killed_mid_restore(string step, bool expectNew)
    {
        using var dir = new TempDirectory("pitr-crash");
        RandomWorkload workload;
        await using (var host = await ShardTestHost.StartAsync(dataDirectory: dir.Path, services: s => s.ConfigurePitr(o =>
        {
            o.SnapshotEveryCommits = 12;
            o.SnapshotLogFraction = 0;
        })))
        {
            workload = new RandomWorkload(host.Shard(Tenant, Table), seed: 31, Table);
            await workload.SetupAsync();
            await workload.RunAsync(30);
            await host.Shard(Tenant, Table).RefreshCapacityAsync();
        }

        var current = workload.Sequence;
        var target = workload.States.Keys.Where(k => k > workload.SetupSequence + 3 && k < current - 3).Min();
        var (exitCode, output) = await RunCrashHostAsync(dir.Path, new Bookmark(target, Tenant, Table).ToString(), step);
        if (step.Length > 0)
        {
            Assert.True(exitCode == 137 || exitCode == -9 || exitCode == 9, $"the crash host should have been killed at {step}; exit {exitCode}: {output}");
            Assert.DoesNotContain("restored", output, StringComparison.Ordinal);
        }
        else
        {
            Assert.True(exitCode == 0, $"exit {exitCode}: {output}");
        }

        await using (var host = await ShardTestHost.StartAsync(dataDirectory: dir.Path))
        {
            var shard = host.Shard(Tenant, Table);
            var state = await ShardContent.DumpAsync(shard);
            var sequence = Bookmark.Parse((await shard.GetBookmarkAsync(new BookmarkRequest())).Bookmark).Sequence;
            if (expectNew)
            {
                Assert.Equal(workload.States[target], state);
                Assert.Equal(current + 1, sequence);
            }
            else
            {
                Assert.Equal(workload.States[current], state);
                Assert.Equal(current, sequence);
            }

            var tenantDir = Path.Combine(dir.Path, Tenant);
            Assert.False(File.Exists(Path.Combine(tenantDir, Table + ".restore.db")), "prepared file left behind");
            Assert.False(File.Exists(Path.Combine(tenantDir, Table + ".restore")), "restore marker left behind");
            Assert.All(new SnapshotStore(Path.Combine(tenantDir, Table + ".snapshots")).List(), s => Assert.True(s <= sequence, $"orphan snapshot {s}"));

            // The shard works on: a write commits after the recovered state, and the undo bookmark restores the old state.
            await shard.MutateAsync(new MutationRequest("INSERT INTO notes(body, n) VALUES ('after', 1)"));
            await shard.RestoreAsync(new RestoreRequest(new Bookmark(current, Tenant, Table).ToString()));
            Assert.Equal(workload.States[current], await ShardContent.DumpAsync(shard));
        }
    }

    private static async Task<(int ExitCode, string Output)> RunCrashHostAsync(string dataDirectory, string bookmark, string step)
    {
        var start = new ProcessStartInfo("dotnet", [CrashHostPath(), dataDirectory, Tenant, Table, bookmark])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["PITR_CRASH_AT"] = step;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private static string CrashHostPath()
    {
        // Tests/bin/{configuration}/{tfm}/ → repository root.
        var testDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = testDirectory.Name;
        var configuration = testDirectory.Parent!.Name;
        var root = testDirectory.Parent.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(root, "Tests.RestoreCrashHost", "bin", configuration, tfm, "OrleansShards.Tests.RestoreCrashHost.dll");
        Assert.True(File.Exists(path), "Build Tests.RestoreCrashHost first: " + path);
        return path;
    }
}

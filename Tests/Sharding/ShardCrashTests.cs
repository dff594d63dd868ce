using System.Diagnostics;
using OrleansShards.Grains.Sharding;
using OrleansShards.Tests.Infrastructure;
using static OrleansShards.Tests.Sharding.ShardingTestData;

namespace OrleansShards.Tests.Sharding;

/// <summary>
/// kill -9 in the middle of shard, rebalance and unshard: a real child process (Tests.ShardCrashHost) runs the
/// operation while two writers insert numbered rows, prints every acknowledged id, and SIGKILLs itself at a step
/// boundary. The same files, reopened here, must hold a usable table whose operation was rolled back (old layout)
/// or forward (new layout, every row on the shard its key maps to), with every acknowledged row exactly once, no
/// staging table or shard file left behind, and room for the next operation.
/// </summary>
public sealed class ShardCrashTests
{
    private const string Table = "items";
    private const int Rows = 3000;

    [Theory]
    [InlineData("shard", "copy", false)] // journal written, fresh shard files created, nothing copied yet
    [InlineData("shard", "catchup", false)] // copy done, shards full, tail not replayed
    [InlineData("shard", "prepare", false)] // inside the switch turn, final catch-up done, layout not flipped
    [InlineData("shard", "commit", true)] // journal says switched, base file not emptied yet
    [InlineData("shard", "cleanup", true)] // switched and committed, journal not cleared
    [InlineData("rebalance", "catchup", true)] // rows staged in _mv_* of live shards: dropped, old layout kept
    [InlineData("rebalance", "flip", true)] // _mvdel_* written on live shards, layout not flipped: both dropped
    [InlineData("rebalance", "commit", true)] // journal says switched, _mv_* / _mvdel_* not merged yet
    [InlineData("unshard", "catchup", true)] // base file partly refilled: emptied again, still sharded
    [InlineData("unshard", "commit", false)] // journal says switched, shard files not deleted yet
    public async Task Operation_is_rolled_back_or_forward_with_every_acknowledged_write_when_the_process_is_killed_at_a_step(
        string operation, string step, bool shardedAfter)
    {
        using var dir = new TempDirectory("shard-kill");
        var (exitCode, stdout, stderr) = await RunCrashHostAsync(dir.Path, operation, step);
        var context = $"exit {exitCode}\n{stdout}\n{stderr}";
        Assert.True(exitCode is 137 or -9 or 9, $"the crash host should have been killed at {operation}/{step}; {context}");
        Assert.Contains("started " + operation, stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("completed", stdout, StringComparison.Ordinal);
        var acknowledged = stdout.Split('\n').Where(l => l.StartsWith("ack ", StringComparison.Ordinal)).Select(l => long.Parse(l[4..].Trim())).ToList();
        Assert.True(acknowledged.Count >= 20, context);

        await using var host = await ShardTestHost.StartAsync(dataDirectory: dir.Path);
        var registry = host.Registry(Table);
        var discovery = await registry.DiscoverAsync();
        Assert.Null(discovery.Operation);
        Assert.Equal(shardedAfter, discovery.Sharded);
        var layout = (await host.ShardHost(Table).GetShardingStateAsync()).Layout;
        if (operation == "rebalance")
        {
            // Forward spreads the skewed shard 0 evenly; back keeps it.
            var forward = step is "commit" or "cleanup";
            Assert.True(forward ? discovery.Stats!.SkewRatio < 1.2 : discovery.Stats!.SkewRatio > 1.4, $"skew {discovery.Stats.SkewRatio}");
        }

        // Every row exactly once: the seeded ones, every acknowledged one, and at most one in flight per writer.
        var shard = host.Shard(Tenant, Table);
        var ids = (await shard.QueryAsync(new QueryRequest($"SELECT id FROM {Table}"))).Rows.Select(r => r[0].AsInteger).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        var present = ids.ToHashSet();
        var seeded = Enumerable.Range(0, Rows).Select(i => i * 10L);
        if (operation != "shard")
        {
            seeded = seeded.Concat(Enumerable.Range(1, Rows / 2).Select(i => -(long)i));
        }

        var expected = seeded.Concat(acknowledged).ToHashSet();
        var lost = expected.Where(id => !present.Contains(id)).ToList();
        Assert.True(lost.Count == 0, $"acknowledged or seeded rows lost: {string.Join(", ", lost.Take(20))}");
        Assert.InRange(present.Count - expected.Count, 0, 2);

        // The layout in force is consistent: the base file holds no rows when sharded, and each row is on its key's shard.
        var files = Directory.GetFiles(Path.Combine(dir.Path, Tenant), "*.db").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).ToList();
        var expectedFiles = new List<string> { Table };
        if (layout is not null)
        {
            Assert.Equal(0, await host.ShardHost(Table).CountRowsAsync(Table));
            var assigner = new ShardAssigner(layout, null);
            for (var i = 0; i < layout.Count; i++)
            {
                var name = ShardLayout.ShardName(Table, i);
                expectedFiles.Add(name);
                var misplaced = (await host.ShardHost(name).ReadInternalAsync($"SELECT id FROM {Table}", []))
                    .Select(r => r[0]).Where(id => assigner.Assign(id) != i).Select(id => id.AsInteger).ToList();
                Assert.True(misplaced.Count == 0, $"{name} holds rows of other shards: {string.Join(", ", misplaced.Take(10))}");
            }
        }

        Assert.Equal(expectedFiles.Order(StringComparer.Ordinal), files);
        foreach (var file in files)
        {
            var staging = await host.ShardHost(file!).ReadInternalAsync("SELECT name FROM sqlite_master WHERE name LIKE '\\_mv%' ESCAPE '\\'", []);
            Assert.True(staging.Count == 0, $"{file} keeps staging tables: {string.Join(", ", staging.Select(r => r[0].AsText))}");
        }

        // The table answers writes, and the next operation runs to completion.
        await shard.MutateAsync(new MutationRequest($"INSERT INTO {Table}(id, org, price) VALUES (?, ?, ?)", [-1_000_000L, "after", 1.0], ShardKey: -1_000_000L));
        var total = present.Count + 1;
        if (layout is null)
        {
            var sharded = await registry.ShardAsync(new ShardRequest("id", 3));
            Assert.Equal(total, sharded.Stats.Total);
        }
        else
        {
            var unsharded = await registry.UnshardAsync();
            Assert.Equal(total, unsharded.RowCount);
        }

        // Sharded, count(*) fans out and answers one row per shard.
        Assert.Equal(total, (await shard.QueryAsync(new QueryRequest($"SELECT count(*) FROM {Table}"))).Rows.Sum(r => r[0].AsInteger));
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunCrashHostAsync(string dataDirectory, string operation, string step)
    {
        var start = new ProcessStartInfo("dotnet", [CrashHostPath(), dataDirectory, Tenant, Table, operation, step, Rows.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    private static string CrashHostPath()
    {
        // Tests/bin/{configuration}/{tfm}/ → repository root.
        var testDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = testDirectory.Name;
        var configuration = testDirectory.Parent!.Name;
        var root = testDirectory.Parent.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(root, "Tests.ShardCrashHost", "bin", configuration, tfm, "OrleansShards.Tests.ShardCrashHost.dll");
        Assert.True(File.Exists(path), "Build Tests.ShardCrashHost first: " + path);
        return path;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using OrleansShards.Tests.Docs;
using OrleansShards.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansShards.Tests.Cluster;

/// <summary>
/// scripts/run-cluster.sh as a user runs it (ports and data directory moved by its environment overrides): it starts
/// redis-server (AOF) and three silos, prints their URLs, the README's "Run a local cluster" tour (the bash block
/// marked <c>&lt;!-- cluster-tour</c>) runs against them as written, and Ctrl+C — SIGINT to the script's process
/// group, as a terminal sends it — stops every process it started.
/// </summary>
[Collection(OrleansShards.Tests.Caching.LatencyCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class LocalClusterScriptTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string TourMarker = "<!-- cluster-tour";
    private const int SigInt = 2;
    private const int SigKill = 9;

    private readonly TempDirectory _data = new("run-cluster");
    private readonly List<string> _lines = [];
    private readonly List<int> _pids = [];
    private Process? _script;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_script is { HasExited: false })
        {
            _ = Kill(-_script.Id, SigKill);
            await _script.WaitForExitAsync();
        }

        foreach (var pid in _pids)
        {
            _ = Kill(pid, SigKill);
        }

        _script?.Dispose();
        _data.Dispose();
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private static bool IsAlive(int pid) => Kill(pid, 0) == 0;

    private string Output()
    {
        lock (_lines)
        {
            return string.Join('\n', _lines);
        }
    }

    private static string TourBlock()
    {
        var readme = File.ReadAllLines(Path.Combine(ReadmeTests.RepositoryRoot(), "README.md"));
        var marker = Array.FindIndex(readme, l => l.TrimStart().StartsWith(TourMarker, StringComparison.Ordinal));
        Assert.True(marker >= 0, "README has no block marked " + TourMarker);
        Assert.Equal("```bash", readme[marker + 1].Trim());
        var end = Array.FindIndex(readme, marker + 2, l => l.Trim() == "```");
        return string.Join('\n', readme[(marker + 2)..end]) + "\n";
    }

    [Fact]
    public async Task Script_starts_three_silos_the_readme_tour_runs_through_them_and_ctrl_c_stops_everything()
    {
        var root = ReadmeTests.RepositoryRoot();
        var http = Enumerable.Range(0, 3).Select(_ => FreePorts.Next()).ToArray();
        var start = new ProcessStartInfo("setsid", ["env", "--default-signal=INT", "bash", Path.Combine(root, "scripts", "run-cluster.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = root,
        };
        string Ports() => string.Join(' ', Enumerable.Range(0, 3).Select(_ => FreePorts.Next().ToString(CultureInfo.InvariantCulture)));
        start.Environment["CLUSTER_DATA_DIR"] = _data.Path;
        start.Environment["CLUSTER_REDIS_PORT"] = FreePorts.Next().ToString(CultureInfo.InvariantCulture);
        start.Environment["CLUSTER_HTTP_PORTS"] = string.Join(' ', http);
        start.Environment["CLUSTER_SILO_PORTS"] = Ports();
        start.Environment["CLUSTER_GATEWAY_PORTS"] = Ports();
        start.Environment["CLUSTER_ID"] = "l" + Guid.NewGuid().ToString("N")[..8];
        start.Environment["CLUSTER_NO_BUILD"] = "1";
        start.Environment["CLUSTER_READY_TIMEOUT"] = "90";

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _script = Process.Start(start) ?? throw new InvalidOperationException("the script did not start");
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lines)
            {
                _lines.Add(line);
                foreach (var word in line.Split(' ').SkipWhile(w => w != "pid").Skip(1).Take(1))
                {
                    _pids.Add(int.Parse(word, CultureInfo.InvariantCulture));
                }
            }

            if (line.StartsWith("run-cluster: ready:", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        }

        _script.OutputDataReceived += (_, e) => OnLine(e.Data);
        _script.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _script.BeginOutputReadLine();
        _script.BeginErrorReadLine();

        var finished = await Task.WhenAny(ready.Task, _script.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(120)));
        Assert.True(finished == ready.Task, "the cluster was not ready within 120 s:\n" + Output());
        output.WriteLine(Output());
        int[] started;
        lock (_lines)
        {
            started = [.. _pids];
        }

        Assert.Equal(4, started.Length);
        Assert.Contains(string.Join(' ', http.Select(p => $"http://127.0.0.1:{p}")), Output(), StringComparison.Ordinal);

        // The README's tour, as written, against these three silos.
        var tour = new ProcessStartInfo("bash", ["-c", "set -euo pipefail\n" + TourBlock()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = root,
        };
        for (var i = 0; i < 3; i++)
        {
            tour.Environment["S" + (i + 1)] = $"http://127.0.0.1:{http[i]}";
        }

        using (var bash = Process.Start(tour)!)
        {
            var stdout = bash.StandardOutput.ReadToEndAsync();
            var stderr = bash.StandardError.ReadToEndAsync();
            Assert.True(bash.WaitForExit(60_000), "the tour did not finish within 60 s");
            var answers = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            output.WriteLine(string.Join('\n', answers));
            Assert.True(bash.ExitCode == 0, $"tour exited {bash.ExitCode}: {await stderr}");
            Assert.Equal(5, answers.Length);
            var json = answers.Select(a => JsonDocument.Parse(a).RootElement).ToArray();
            Assert.All(json, j => Assert.False(j.TryGetProperty("error", out _), j.ToString()));
            Assert.Equal("written through s2", json[2].GetProperty("rows")[0][1].GetString());
            Assert.Equal(3, json[3].GetProperty("silos").EnumerateArray().Count(s => s.GetProperty("status").GetString() == "active"));
            var primary = json[4].GetProperty("primary").GetString()!;
            Assert.Contains(primary, new[] { "s1", "s2", "s3" });

            // The table's file is in its primary's data directory under CLUSTER_DATA_DIR, Redis' AOF beside them.
            Assert.True(File.Exists(Path.Combine(_data.Path, primary, "acme", "notes.db")), "notes.db is not in " + primary);
            Assert.True(Directory.EnumerateFileSystemEntries(Path.Combine(_data.Path, "redis")).Any(e => Path.GetFileName(e).StartsWith("appendonly", StringComparison.Ordinal)), "no append-only file");
        }

        // Ctrl+C: SIGINT to the script's process group (setsid made the script its leader).
        var watch = Stopwatch.StartNew();
        Assert.Equal(0, Kill(-_script.Id, SigInt));
        var exited = await Task.WhenAny(_script.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(exited != null && _script.HasExited, "the script did not stop within 60 s of SIGINT:\n" + Output());
        output.WriteLine($"stopped in {watch.ElapsedMilliseconds} ms, exit {_script.ExitCode}");
        var alive = started.Where(IsAlive).ToList();
        Assert.True(alive.Count == 0, "still running after the script stopped: " + string.Join(", ", alive) + "\n" + Output());
        Assert.Contains("run-cluster: stopped", Output(), StringComparison.Ordinal);
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using System.Text.Json;
using OrleansShards.Client;
using OrleansShards.Grains.Hosting;
using OrleansShards.Silo.Hosting;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Docs;

/// <summary>
/// The README as a new user meets it: every ```bash block marked <c>&lt;!-- readme-test --&gt;</c> is run as
/// written with bash against a fresh silo process (the built Silo, on a free loopback port, with a temp data
/// directory). The only difference from a user's run is <c>SHARDS_URL</c>, which the tour itself reads.
/// Every curl must exit 0 and answer JSON without an <c>error</c>.
/// </summary>
public sealed class ReadmeTests
{
    private const string Marker = "<!-- readme-test";
    private const string CliMarker = "<!-- readme-cli-test";

    // Wraps curl (nothing else): runs the real curl, prints its answer as usual, and logs the answer for the assertions.
    private const string Preamble = """
        set -euo pipefail
        curl() {
            local answer
            answer="$(command curl --max-time 20 "$@")" || { echo "curl failed ($?): curl $*" >&2; return 1; }
            printf '%s\n' "$answer"
            printf '%s\n\x1e\n' "$answer" >> "$READMETEST_LOG"
        }

        """;

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansShards.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("OrleansShards.sln not found above " + AppContext.BaseDirectory);
    }

    internal static IReadOnlyList<string> MarkedBashBlocks(string markdown, string marker = Marker)
    {
        var blocks = new List<string>();
        var lines = markdown.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (!lines[i].TrimStart().StartsWith(marker, StringComparison.Ordinal))
            {
                continue;
            }

            var open = i + 1;
            while (open < lines.Length && lines[open].Trim().Length == 0)
            {
                open++;
            }

            Assert.True(open < lines.Length && lines[open].Trim() == "```bash", $"README line {i + 1}: the readme-test marker must precede a ```bash block.");
            var body = new StringBuilder();
            var close = open + 1;
            for (; close < lines.Length && lines[close].Trim() != "```"; close++)
            {
                body.Append(lines[close].TrimEnd('\r')).Append('\n');
            }

            blocks.Add(body.ToString());
            i = close;
        }

        return blocks;
    }

    [Fact]
    public async Task Marked_tour_blocks_run_as_written_against_a_fresh_silo()
    {
        var root = RepositoryRoot();
        var blocks = MarkedBashBlocks(await File.ReadAllTextAsync(Path.Combine(root, "README.md")));
        Assert.NotEmpty(blocks);

        using var data = new TempDirectory("readme");
        var port = FreeLoopbackPort();
        var url = $"http://127.0.0.1:{port}";
        using var silo = StartSilo(url, data.Path);
        try
        {
            await WaitForHealthAsync(url, silo);
            var log = Path.Combine(data.Path, "answers.log");
            foreach (var block in blocks)
            {
                var (exit, stdout, stderr) = await RunBashAsync(Preamble + block, root, new() { ["SHARDS_URL"] = url, ["READMETEST_LOG"] = log });
                Assert.True(exit == 0, $"bash exited {exit}\nstdout:\n{stdout}\nstderr:\n{stderr}");
            }

            var answers = (await File.ReadAllTextAsync(log)).Split("\x1e\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.True(answers.Length >= 10, $"expected every curl of the tour to answer, got {answers.Length}");
            foreach (var answer in answers)
            {
                using var json = JsonDocument.Parse(answer);
                Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
                Assert.False(json.RootElement.TryGetProperty("error", out _), "the tour got an error answer: " + answer);
            }

            // The tour's transaction committed: the pear inserted by the batch is gone, the apple is there.
            Assert.Contains(answers, a => a.Contains("\"rolledBack\"", StringComparison.Ordinal) is false && a.Contains("\"transactionId\"", StringComparison.Ordinal) && a.Contains("\"results\"", StringComparison.Ordinal));
            Assert.Contains(answers, a => a.Contains("\"apple\"", StringComparison.Ordinal) && a.Contains("\"rows\"", StringComparison.Ordinal));
        }
        finally
        {
            silo.Kill(entireProcessTree: true);
            await silo.WaitForExitAsync();
        }
    }

    /// <summary>
    /// Issue 15 item 12: the README's sharding CLI examples (shard, discover, query-shards, rebalance, unshard) work on a
    /// fresh silo in the order given. <c>shards</c> is the built CLI, as the README's alias makes it.
    /// </summary>
    [Fact]
    public async Task Marked_cli_blocks_run_as_written_in_order_against_a_fresh_silo()
    {
        var root = RepositoryRoot();
        var blocks = MarkedBashBlocks(await File.ReadAllTextAsync(Path.Combine(root, "README.md")), CliMarker);
        Assert.NotEmpty(blocks);

        using var data = new TempDirectory("readme-cli");
        var url = $"http://127.0.0.1:{FreeLoopbackPort()}";
        using var silo = StartSilo(url, data.Path);
        try
        {
            await WaitForHealthAsync(url, silo);
            var cli = typeof(OrleansShards.Cli.ShardsCli).Assembly.Location;
            var preamble = "set -euo pipefail\nshards() { dotnet \"$SHARDS_CLI\" \"$@\"; }\n";
            foreach (var block in blocks)
            {
                var (exit, stdout, stderr) = await RunBashAsync(
                    preamble + block, root, new() { ["SHARDS_URL"] = url, ["SHARDS_TENANT"] = "acme", ["SHARDS_CLI"] = cli });
                Assert.True(exit == 0, $"bash exited {exit}\nstdout:\n{stdout}\nstderr:\n{stderr}");
                Assert.Empty(stderr);
                Assert.Contains("sharded into 8 shards by customer (hash): 300 rows moved", stdout, StringComparison.Ordinal);
                Assert.Contains("sharded into 4 shards by metadata → organization.id", stdout, StringComparison.Ordinal);
                Assert.Contains("merged 9 shards back: 300 rows in the table", stdout, StringComparison.Ordinal);
            }
        }
        finally
        {
            silo.Kill(entireProcessTree: true);
            await silo.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Configuration_reference_names_every_option()
    {
        // The option reference moved from the README (a newcomer's page) to docs/configuration.md, which the README links.
        var reference = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "docs", "configuration.md"));
        Assert.Contains("(docs/configuration.md)", await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "README.md")), StringComparison.Ordinal);
        var types = new[] { typeof(ShardsSiloOptions), typeof(TableShardOptions), typeof(ShardsClientOptions), typeof(OrleansShards.Grains.Pitr.PitrOptions) };

        var missing = types
            .SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true } || p.PropertyType.IsGenericType).Select(p => (t, p)))
            .Where(x => !reference.Contains("`" + x.p.Name + "`", StringComparison.Ordinal) && !reference.Contains("`" + x.p.Name + " ", StringComparison.Ordinal))
            .Select(x => x.t.Name + "." + x.p.Name)
            .ToList();

        Assert.True(missing.Count == 0, "docs/configuration.md does not document: " + string.Join(", ", missing));
    }

    private static Process StartSilo(string url, string dataDirectory)
    {
        var silo = Path.Combine(AppContext.BaseDirectory, "OrleansShards.Silo.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = dataDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(silo);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(url);
        start.Environment["Shards__DataDirectory"] = Path.Combine(dataDirectory, "data");
        foreach (var (key, value) in FreePorts.SiloSettings())
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment.Remove("ASPNETCORE_URLS");
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the silo");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitForHealthAsync(string url, Process silo)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(silo.HasExited, $"the silo exited with {(silo.HasExited ? silo.ExitCode : 0)}");
            try
            {
                using var response = await http.GetAsync(url + "/health");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        Assert.Fail("the silo did not answer /health within 30 s");
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunBashAsync(string script, string workingDirectory, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("bash")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-s");
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var bash = Process.Start(start)!;
        var stdout = bash.StandardOutput.ReadToEndAsync();
        var stderr = bash.StandardError.ReadToEndAsync();
        await bash.StandardInput.WriteAsync(script);
        bash.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await bash.WaitForExitAsync(timeout.Token);
        return (bash.ExitCode, await stdout, await stderr);
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Containment;

/// <summary>
/// Issue 15 item 4: a silo process started with a lowered descriptor limit (<c>ulimit -n</c>). Without a budget it
/// answers OVERLOADED (429, retryable) — never 500 INTERNAL — once SQLite cannot open a file, and /health says
/// degraded; with the automatic budget it serves many more tables than fit at once by closing idle ones.
/// </summary>
// Runs alone: it measures the silo's descriptors. Opening waits (bounded) for the idle shards it asked to close, so a
// burst of opens that outruns their deactivations on busy cores is no longer refused (it failed so before).
[Collection(OrleansShards.Tests.Caching.LatencyCollection.Name)]
public sealed class FileDescriptorExhaustionTests
{
    /// <summary>The silo process holds about 280 descriptors once started (its assemblies are open twice each).</summary>
    private const int DescriptorLimit = 400;

    [Fact]
    public async Task Requests_answer_overloaded_and_health_degraded_when_the_process_is_out_of_descriptors()
    {
        // A budget larger than the process limit: SQLite itself runs out of descriptors.
        await using var silo = await LimitedSilo.StartAsync(("Shards:TableShard:MaxOpenFiles", "1000000"));
        HttpStatusCode? refused = null;
        for (var i = 0; i < 100 && refused is null; i++)
        {
            foreach (var (path, body) in TableSteps(i))
            {
                using var response = await silo.PostAsync(path, Json(body));
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    refused = response.StatusCode;
                    var text = await response.Content.ReadAsStringAsync();
                    var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
                    Assert.True(response.StatusCode == HttpStatusCode.TooManyRequests, $"table {i}: {(int)response.StatusCode} {text}");
                    Assert.Equal("OVERLOADED", error.GetProperty("code").GetString());
                    Assert.True(error.GetProperty("retryable").GetBoolean());
                    break;
                }
            }
        }

        Assert.True(refused is not null, $"100 tables were served under a limit of {DescriptorLimit} descriptors without a budget");
        using var health = await silo.GetAsync("/health");
        var healthText = await health.Content.ReadAsStringAsync();
        Assert.True(health.StatusCode == HttpStatusCode.ServiceUnavailable, healthText);
        Assert.Equal("degraded", JsonDocument.Parse(healthText).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task The_automatic_budget_serves_more_tables_than_fit_at_once_by_closing_idle_ones()
    {
        await using var silo = await LimitedSilo.StartAsync();
        for (var i = 0; i < 60; i++)
        {
            foreach (var (path, body) in TableSteps(i))
            {
                using var response = await silo.PostAsync(path, Json(body));
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"table {i} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }

        // The first tables were closed to make room and open again on use.
        using var first = await silo.Client.PostAsync("/v1/tables/t0/query", Json("""{"query":"SELECT count(*) FROM t0"}"""));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        // Shards closed to make room count until their files are closed, so the figure is back within the budget shortly.
        var watch = Stopwatch.StartNew();
        while (true)
        {
            using var health = await silo.Client.GetAsync("/health");
            var healthText = await health.Content.ReadAsStringAsync();
            Assert.True(health.StatusCode == HttpStatusCode.OK, healthText);
            var root = JsonDocument.Parse(healthText).RootElement;
            Assert.True(root.GetProperty("shardFileBudget").GetInt64() < DescriptorLimit, healthText);
            if (root.GetProperty("openShardFiles").GetInt64() <= root.GetProperty("shardFileBudget").GetInt64())
            {
                break;
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "the shards' files stayed over the budget: " + healthText);
            await Task.Delay(50);
        }
    }

    private static IEnumerable<(string Path, string Body)> TableSteps(int i)
    {
        var table = "t" + i.ToString(CultureInfo.InvariantCulture);
        yield return ($"/v1/tables/{table}/ddl", $$"""{"query":"CREATE TABLE {{table}} (id INTEGER PRIMARY KEY, v TEXT)"}""");
        yield return ($"/v1/tables/{table}/mutation", $$"""{"query":"INSERT INTO {{table}} (v) VALUES ('x')"}""");
        yield return ($"/v1/tables/{table}/query", $$"""{"query":"SELECT * FROM {{table}}"}""");
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>The silo (Silo's own build) in a child process under <c>ulimit -n</c> <see cref="DescriptorLimit"/>, one kept-alive HTTP connection.</summary>
    private sealed class LimitedSilo : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly TempDirectory _data;
        private readonly StringBuilder _output = new();

        private LimitedSilo(Process process, TempDirectory data, HttpClient client)
        {
            _process = process;
            _data = data;
            Client = client;
        }

        public HttpClient Client { get; }

        /// <summary>POSTs on the kept-alive connection; a failed exchange fails the test with the silo's output.</summary>
        public async Task<HttpResponseMessage> PostAsync(string path, HttpContent content)
        {
            try
            {
                return await Client.PostAsync(path, content);
            }
            catch (HttpRequestException ex)
            {
                throw new InvalidOperationException($"POST {path} failed ({ex.Message}; exited: {_process.HasExited}{(_process.HasExited ? ", code " + _process.ExitCode : "")}). Silo output:\n{Output}", ex);
            }
        }

        /// <summary>GETs on the kept-alive connection; a failed exchange fails the test with the silo's output.</summary>
        public async Task<HttpResponseMessage> GetAsync(string path)
        {
            try
            {
                return await Client.GetAsync(path);
            }
            catch (HttpRequestException ex)
            {
                throw new InvalidOperationException($"GET {path} failed ({ex.Message}; exited: {_process.HasExited}{(_process.HasExited ? ", code " + _process.ExitCode : "")}). Silo output:\n{Output}", ex);
            }
        }

        public static async Task<LimitedSilo> StartAsync(params (string Key, string Value)[] settings)
        {
            var data = new TempDirectory("fd-silo");
            var port = FreePorts.Next();
            var args = new List<string>
            {
                "-c", $"ulimit -n {DescriptorLimit} && exec dotnet \"$@\"", "silo", SiloPath(),
                "--urls", $"http://127.0.0.1:{port}",
                $"--Shards:DataDirectory={data.Path}",
                $"--Shards:Cluster:SiloPort={FreePorts.Next()}",
                $"--Shards:Cluster:GatewayPort={FreePorts.Next()}",
            };
            args.AddRange(settings.Select(s => $"--{s.Key}={s.Value}"));
            var start = new ProcessStartInfo("/bin/sh", args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };

            // With W^X the JIT maps new executable code through a descriptor; out of them the runtime aborts ("Out of
            // memory.", exit 134 — seen in CI when tiered compilation recompiled a hot method at the wrong moment). This
            // test is about SQLite running out, which the silo must answer OVERLOADED (docs/containment.md).
            start.Environment["DOTNET_EnableWriteXorExecute"] = "0";

            // And no tier-up at a random moment: with tiered compilation the runtime recompiles hot methods on a background
            // thread whenever their call counts say so, and once more CI saw "Out of memory." (exit 134) mid-run with W^X
            // off. Each method is compiled once, when first called, while descriptors are still left.
            start.Environment["DOTNET_TieredCompilation"] = "0";
            var process = Process.Start(start)!;

            // One connection for the whole test (a new one needs a descriptor the process may not have).
            var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 })
            {
                BaseAddress = new Uri($"http://127.0.0.1:{port}"),
                Timeout = TimeSpan.FromSeconds(30),
            };
            client.DefaultRequestHeaders.Add("X-Tenant-Id", "fd");
            var silo = new LimitedSilo(process, data, client);
            process.OutputDataReceived += (_, e) => silo.Append(e.Data);
            process.ErrorDataReceived += (_, e) => silo.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var watch = Stopwatch.StartNew();
            while (true)
            {
                Assert.False(process.HasExited, "the silo exited: " + silo.Output);
                try
                {
                    using var health = await client.GetAsync("/health");
                    if (health.StatusCode == HttpStatusCode.OK)
                    {
                        return silo;
                    }
                }
                catch (HttpRequestException)
                {
                }

                if (watch.Elapsed > TimeSpan.FromSeconds(90))
                {
                    await silo.DisposeAsync();
                    Assert.Fail("the silo did not start within 90 s: " + silo.Output);
                }

                await Task.Delay(100);
            }
        }

        private string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        private void Append(string? line)
        {
            lock (_output)
            {
                if (line is not null && _output.Length < 20_000)
                {
                    _output.AppendLine(line);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
            _data.Dispose();
        }

        private static string SiloPath()
        {
            // Tests/bin/{configuration}/{tfm}/ → repository root → Silo/bin/{configuration}/{tfm}/.
            var testDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var tfm = testDirectory.Name;
            var configuration = testDirectory.Parent!.Name;
            var root = testDirectory.Parent.Parent!.Parent!.Parent!.FullName;
            var path = Path.Combine(root, "Silo", "bin", configuration, tfm, "OrleansShards.Silo.dll");
            Assert.True(File.Exists(path), "Build Silo first: " + path);
            return path;
        }
    }
}

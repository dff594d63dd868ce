using System.Diagnostics;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Cluster;

/// <summary>
/// A real standalone silo process (<c>OrleansShards.Silo.dll</c>) in cluster mode on 127.0.0.1 with free ports,
/// started by a test and stopped by it (by PID): kill -9, SIGSTOP/SIGCONT, or a graceful stop on dispose.
/// Its output goes to <c>{DataDirectory}.log</c>, quoted in failures. The benchmarks' cluster driver links this file.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private const int SigTerm = 15;
    private const int SigCont = 18;
    private const int SigStop = 19;

    private readonly Process _process;
    private readonly StreamWriter _log;

    private SiloProcess(string name, string dataDirectory, int httpPort, Process process, StreamWriter log, string tenant, string address)
    {
        Name = name;
        DataDirectory = dataDirectory;
        HttpPort = httpPort;
        _process = process;
        _log = log;
        Http = new HttpClient { BaseAddress = new Uri($"http://{address}:{httpPort}"), Timeout = TimeSpan.FromSeconds(30) };
        Http.DefaultRequestHeaders.Add("X-Tenant-Id", tenant);
        _clusterHttp = new HttpClient { BaseAddress = Http.BaseAddress, Timeout = Http.Timeout };
    }

    /// <summary>For the routes about the cluster that read no tenant: sends no <c>X-Tenant-Id</c>.</summary>
    private readonly HttpClient _clusterHttp;

    public string Name { get; }

    public string DataDirectory { get; }

    public int HttpPort { get; }

    public int Pid => _process.Id;

    public HttpClient Http { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the process to exit and for all its output to reach the log (the output
    /// is read asynchronously: <see cref="HasExited"/> can be true while its last lines are still on their way).
    /// </summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public string LogPath => DataDirectory + ".log";

    /// <summary>Starts a silo named <paramref name="name"/> on <paramref name="dataDirectory"/>, joining the cluster in <paramref name="redis"/>.</summary>
    /// <remarks>
    /// With <paramref name="networkNamespace"/> the process runs in that network namespace (<c>ip netns exec</c>, which
    /// execs, so the PID is the silo's) and listens and advertises on <paramref name="address"/>.
    /// </remarks>
    public static SiloProcess Start(string redis, string serviceId, string name, string dataDirectory, IDictionary<string, string>? settings = null, string tenant = "acme", string? networkNamespace = null, string address = "127.0.0.1")
    {
        Directory.CreateDirectory(dataDirectory);
        var httpPort = FreePorts.Next();
        var start = new ProcessStartInfo(networkNamespace is null ? "dotnet" : "ip", networkNamespace is null ? [SiloPath()] : ["netns", "exec", networkNamespace, "dotnet", SiloPath()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var env = start.Environment;
        env["ASPNETCORE_URLS"] = $"http://{address}:{httpPort}";
        env["Shards__DataDirectory"] = dataDirectory;
        env["Shards__Cluster__Redis"] = redis;
        env["Shards__Cluster__ServiceId"] = serviceId;
        env["Shards__Cluster__ClusterId"] = serviceId;
        env["Shards__Cluster__SiloName"] = name;
        env["Shards__Cluster__SiloPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["Shards__Cluster__GatewayPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["Shards__Cluster__AdvertisedAddress"] = address;
        if (address != "127.0.0.1")
        {
            // Not loopback: the test network is the test's own, with no API keys.
            env["Shards__AllowAnonymous"] = "true";
        }

        env["Logging__LogLevel__Default"] = "Warning";

        // One copy per shard unless a test asks for more (the replication tests do): the other cluster tests are about
        // placement, moves and fencing of a single copy.
        env["Shards__Cluster__ReplicationFactor"] = "1";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }

        var log = new StreamWriter(dataDirectory + ".log", append: true) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException("The silo process did not start.");
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new SiloProcess(name, dataDirectory, httpPort, process, log, tenant, address);
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>The last lines of the silo's output, for failure messages.</summary>
    public string Tail(int lines = 30)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return $"--- {Name} (pid {Pid}) ---\n" + string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>kill -9.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }
    }

    /// <summary>SIGTERM: the silo stops gracefully (its grains deactivate, it leaves the membership); kill -9 after 30 s.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        Signal(SigTerm);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    /// <summary>SIGSTOP: the process freezes; its sockets stay open.</summary>
    public void Freeze() => Signal(SigStop);

    /// <summary>SIGCONT after <see cref="Freeze"/>.</summary>
    public void Thaw() => Signal(SigCont);

    private void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>Waits until <c>/v1/cluster</c> on this silo lists <paramref name="active"/> active silos.</summary>
    public async Task WaitForActiveSilosAsync(int active, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        string last = "";
        while (watch.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                await WaitForExitAsync(TimeSpan.FromSeconds(5));
                throw new InvalidOperationException($"Silo {Name} exited with {_process.ExitCode}.\n{Tail()}");
            }

            try
            {
                using var answer = await Http.GetAsync("/v1/cluster");
                last = await answer.Content.ReadAsStringAsync();
                if (answer.IsSuccessStatusCode && CountActive(last) == active)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"Silo {Name} did not see {active} active silos within {timeout.TotalSeconds} s; last answer: {last}\n{Tail()}");
    }

    private static int CountActive(string clusterJson)
    {
        using var document = JsonDocument.Parse(clusterJson);
        return document.RootElement.GetProperty("silos").EnumerateArray().Count(s => s.GetProperty("status").GetString() == "active");
    }

    /// <summary>POSTs JSON to a table route and returns the status and parsed body.</summary>
    public async Task<(int Status, JsonElement Body)> PostAsync(string path, object body)
    {
        using var answer = await Http.PostAsync(path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        return ((int)answer.StatusCode, await ReadAsync(answer));
    }

    /// <summary>
    /// The record of an operation of the cluster (a drain, a cluster rebalance): <c>GET /v1/operations/{id}</c> naming no
    /// tenant (operation ids are scoped by tenant; the cluster's are found without one).
    /// </summary>
    public async Task<(int Status, JsonElement Body)> GetClusterOperationAsync(string id)
    {
        using var answer = await _clusterHttp.GetAsync("/v1/operations/" + id);
        return ((int)answer.StatusCode, await ReadAsync(answer));
    }

    /// <summary>GETs a route and returns the status and parsed body.</summary>
    public async Task<(int Status, JsonElement Body)> GetAsync(string path)
    {
        using var answer = await Http.GetAsync(path);
        return ((int)answer.StatusCode, await ReadAsync(answer));
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage answer)
    {
        var text = await answer.Content.ReadAsStringAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        _clusterHttp.Dispose();
        if (!_process.HasExited)
        {
            try
            {
                Signal(SigCont);
            }
            catch (InvalidOperationException)
            {
            }

            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    /// <summary>The environment variable naming the silo assembly to run instead of this build's.</summary>
    public const string SiloDllVariable = "ORLEANSSHARDS_SILO_DLL";

    private static string SiloPath()
    {
        // A published silo (for example ReadyToRun-compiled, as deploy/Dockerfile builds it) instead of the build output.
        if (Environment.GetEnvironmentVariable(SiloDllVariable) is { Length: > 0 } published)
        {
            return File.Exists(published) ? published : throw new FileNotFoundException($"{SiloDllVariable} names no file: " + published);
        }

        // Tests/bin/{configuration}/{tfm}/ → repository root.
        var testDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = testDirectory.Name;
        var configuration = testDirectory.Parent!.Name;
        var root = testDirectory.Parent.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(root, "Silo", "bin", configuration, tfm, "OrleansShards.Silo.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build Silo first: " + path);
    }
}

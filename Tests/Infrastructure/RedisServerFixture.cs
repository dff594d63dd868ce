using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace OrleansShards.Tests.Infrastructure;

/// <summary>
/// A real <c>redis-server</c> on 127.0.0.1 and a free port, without persistence, shared by the tests
/// of <see cref="RedisCollection"/>. Tests may stop and start it (same port) to simulate an outage.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private Process? _process;

    public int Port { get; private set; }

    public string Configuration => $"127.0.0.1:{Port},abortConnect=false";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>
    /// When set, the server keeps an append-only file there (as the cluster's Redis does in deploy/ and
    /// scripts/run-cluster.sh), so a <see cref="StopAsync"/> and <see cref="StartAsync"/> keep the data; unset, the
    /// server has no persistence and a restart starts empty.
    /// </summary>
    public string? AppendOnlyDirectory { get; init; }

    /// <summary>Another address to listen on besides 127.0.0.1 (a test network's bridge address), or null.</summary>
    public string? AlsoBind { get; init; }

    /// <summary>A connection to this server, made on first use; it reconnects after a stop and start.</summary>
    public ConnectionMultiplexer Connection => _connection ??= ConnectionMultiplexer.Connect(Configuration + ",connectTimeout=2000");

    private ConnectionMultiplexer? _connection;

    public async Task InitializeAsync()
    {
        Port = FreePort();
        await StartAsync();
    }

    public async Task StartAsync()
    {
        var path = FindServer() ?? throw new InvalidOperationException(
            "redis-server is not installed: the Redis tests need it (scripts/test.sh installs it; or `apt-get install -y redis-server`).");
        var persistence = AppendOnlyDirectory is { } dir ? $"--appendonly yes --appendfsync always --dir {dir}" : "--appendonly no";
        _process = Process.Start(new ProcessStartInfo(path, $"--port {Port} --bind 127.0.0.1{(AlsoBind is null ? "" : " " + AlsoBind)} --save '' {persistence} --protected-mode no")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("redis-server did not start.");
        _process.OutputDataReceived += static (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(20);
            }
        }

        throw new InvalidOperationException($"redis-server did not listen on port {Port} within 10 s.");
    }

    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    public async Task DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        await StopAsync();
    }

    private static string? FindServer()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Append("/usr/bin").Append("/usr/local/bin"))
        {
            var candidate = Path.Combine(dir, "redis-server");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Tests sharing one <see cref="RedisServerFixture"/>; they run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "redis";
}

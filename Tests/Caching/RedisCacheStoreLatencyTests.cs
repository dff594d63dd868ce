using System.Net;
using System.Net.Sockets;
using OrleansShards.Grains.Caching;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Caching;

/// <summary>
/// Regression (issue 15 item 12): <c>RedisCacheStoreTests.GetRawAsync_roundtrips_application_values</c> timed out under CPU
/// load because a sliding <see cref="RedisCacheStore.GetRawAsync"/> made two dependent round trips (GET, then EXPIRE after a
/// thread-pool hop) inside one <see cref="RedisCacheOptions.OperationTimeout"/>. It is one script call now. A proxy that
/// delays every answer by 500 ms makes the difference certain: one round trip fits a 900 ms timeout, two never do.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisCacheStoreLatencyTests(RedisServerFixture redis)
{
    private static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(500);

    [Fact]
    public async Task GetRawAsync_slides_the_expiry_in_one_round_trip_when_every_answer_is_slow()
    {
        using var proxy = new DelayProxy(redis.Port, Delay);
        using var store = new RedisCacheStore(
            new RedisCacheOptions
            {
                Configuration = $"127.0.0.1:{proxy.Port},abortConnect=false",
                OperationTimeout = TimeSpan.FromMilliseconds(900),
                ConnectTimeout = TimeSpan.FromSeconds(30),
                BreakDuration = TimeSpan.FromMilliseconds(1),
            },
            TimeProvider.System);
        var key = "test:" + Guid.NewGuid().ToString("N") + ":slow";

        await store.SetRawAsync(key, [7, 8], TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(1));
        var value = await store.GetRawAsync(key, slide: true);

        Assert.Equal([7, 8], value);
        var ttl = await redis.Connection.GetDatabase().KeyTimeToLiveAsync(key);
        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(50), TimeSpan.FromMinutes(1)); // slid to the 1-minute window
    }

    /// <summary>A TCP proxy to 127.0.0.1:<c>target</c> that holds every chunk from the server for a fixed delay.</summary>
    private sealed class DelayProxy : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();

        public DelayProxy(int target, TimeSpan delay)
        {
            _listener.Start();
            _ = AcceptAsync(target, delay);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        private async Task AcceptAsync(int target, TimeSpan delay)
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    var server = new TcpClient();
                    await server.ConnectAsync(IPAddress.Loopback, target, _stop.Token);
                    _ = PumpAsync(client.GetStream(), server.GetStream(), TimeSpan.Zero);
                    _ = PumpAsync(server.GetStream(), client.GetStream(), delay);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        /// <summary>Forwards every chunk <paramref name="delay"/> after it arrived (a constant latency: delays do not add up).</summary>
        private async Task PumpAsync(NetworkStream from, NetworkStream to, TimeSpan delay)
        {
            var chunks = System.Threading.Channels.Channel.CreateUnbounded<(byte[] Data, long Due)>();
            var writer = Task.Run(async () =>
            {
                await foreach (var (data, due) in chunks.Reader.ReadAllAsync(_stop.Token))
                {
                    var wait = TimeSpan.FromTicks(Math.Max(0, due - DateTime.UtcNow.Ticks));
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, _stop.Token);
                    }

                    await to.WriteAsync(data, _stop.Token);
                }
            });
            var buffer = new byte[64 * 1024];
            try
            {
                int read;
                while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
                {
                    chunks.Writer.TryWrite((buffer.AsSpan(0, read).ToArray(), DateTime.UtcNow.Ticks + delay.Ticks));
                }

                chunks.Writer.TryComplete();
                await writer;
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
            {
            }
            finally
            {
                to.Dispose();
                from.Dispose();
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }
    }
}

using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using OrleansShards.Silo.Hosting;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Silo;

/// <summary>
/// Issue 15 item 10: a co-hosted app that maps the API on a non-loopback address without API keys must opt in with
/// Shards:AllowAnonymous, and doing so is logged.
/// </summary>
public sealed class AnonymousAccessGuardTests
{
    [Fact]
    public async Task Co_hosted_app_fails_its_start_when_it_listens_beyond_loopback_without_keys()
    {
        var (app, _, data) = Build(allowAnonymous: false);
        using (data)
        await using (app)
        {
            var error = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync());
            Assert.Contains("Shards:AllowAnonymous", Flatten(error), StringComparison.Ordinal);
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task Co_hosted_app_starts_and_logs_a_warning_when_AllowAnonymous_is_set()
    {
        var (app, logs, data) = Build(allowAnonymous: true);
        using (data)
        await using (app)
        {
            await app.StartAsync();
            try
            {
                Assert.Contains(logs, l => l.Level == LogLevel.Warning && l.Message.Contains("AllowAnonymous", StringComparison.Ordinal)
                    && l.Message.Contains("0.0.0.0", StringComparison.Ordinal));
            }
            finally
            {
                await app.StopAsync();
            }
        }
    }

    private static (WebApplication App, ConcurrentQueue<(LogLevel Level, string Message)> Logs, TempDirectory Data) Build(bool allowAnonymous)
    {
        var data = new TempDirectory("anonymous");
        var logs = new ConcurrentQueue<(LogLevel, string)>();
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new ListLoggerProvider(logs));
        var settings = new Dictionary<string, string?>
        {
            ["Shards:DataDirectory"] = data.Path,
            ["Shards:AllowAnonymous"] = allowAnonymous ? "true" : "false",
        };
        FreePorts.ForSilo(settings);
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls("http://0.0.0.0:0");
        builder.AddShardsSilo();
        var app = builder.Build();
        app.MapShardsApi();
        return (app, logs, data);
    }

    private static string Flatten(Exception error) =>
        error is AggregateException aggregate ? string.Join("\n", aggregate.Flatten().InnerExceptions.Select(e => e.Message)) : error.Message;

    private sealed class ListLoggerProvider(ConcurrentQueue<(LogLevel, string)> logs) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(logs);

        public void Dispose()
        {
        }
    }

    private sealed class ListLogger(ConcurrentQueue<(LogLevel, string)> logs) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                logs.Enqueue((logLevel, formatter(state, exception)));
            }
        }
    }
}

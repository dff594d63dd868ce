using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OrleansShards.Grains.Hosting;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Hosting;

/// <summary>
/// A grain call waits longer than any statement may run: a long read sent through another silo ends with the
/// statement's own TIMEOUT, not with Orleans' messaging timeout cutting it at the same moment.
/// </summary>
public sealed class ResponseTimeoutTests
{
    [Fact]
    public async Task The_silos_response_timeout_is_raised_above_the_statement_timeouts()
    {
        await using var host = await ShardTestHost.StartAsync(o =>
        {
            o.StatementTimeout = TimeSpan.FromSeconds(75);
            o.WriteStatementTimeout = TimeSpan.FromSeconds(5);
        });

        var messaging = host.Services.GetRequiredService<IOptions<SiloMessagingOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(75) + ShardsSiloBuilderExtensions.ResponseTimeoutMargin, messaging.ResponseTimeout);

        // A call meeting a moved shard's stale address is forwarded more than Orleans' default twice.
        Assert.Equal(ShardsSiloBuilderExtensions.MinForwardCount, messaging.MaxForwardCount);
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Providers;
using Orleans.Streams;
using OrleansShards.Grains.Caching;

namespace OrleansShards.Grains.Hosting;

/// <summary>Adds OrleansShards to an Orleans silo: <c>builder.UseOrleans(silo => silo.UseLocalhostClustering().AddShards())</c>.</summary>
public static class ShardsSiloBuilderExtensions
{
    /// <summary>The memory stream provider that carries invalidation events in the embedded silo.</summary>
    public const string DefaultStreamProvider = "default";

    /// <summary>How often the memory stream's pulling agents read their queues: the commit→invalidation latency floor.</summary>
    public static readonly TimeSpan MemoryStreamPullPeriod = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// The memory stream's pull period when invalidations ride another provider (Redis) and it carries only the rare
    /// shard events: Orleans' own default. Every period each of its queues is read by a grain call, so 5 ms there would
    /// cost a few thousand idle calls a second across a cluster for nothing.
    /// </summary>
    public static readonly TimeSpan ShardEventsPullPeriod = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Adds the TableShard, ShardRegistry and CacheInvalidator grains with their services (see
    /// <see cref="TableShardsServiceCollectionExtensions.AddTableShards"/>), Orleans' reminder service and, unless
    /// <paramref name="memoryStreams"/> is false, the in-memory stream provider <c>default</c> that carries
    /// invalidation events to the implicitly subscribed invalidator grains (pulled every
    /// <see cref="MemoryStreamPullPeriod"/>; explicit subscriptions, e.g. to shard events, are kept in memory grain
    /// storage). A reminder table must be configured separately (embedded: <c>UseSqliteReminderService</c>).
    /// <paramref name="memoryStreamPullPeriod"/> replaces that period (e.g. <see cref="ShardEventsPullPeriod"/> when
    /// invalidations ride Redis).
    /// </summary>
    public static ISiloBuilder AddShards(this ISiloBuilder silo, Action<TableShardOptions>? configure = null, bool memoryStreams = true, TimeSpan? memoryStreamPullPeriod = null)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.Services.AddTableShards(configure);
        if (memoryStreams)
        {
            silo.AddMemoryStreams(DefaultStreamProvider, streams =>
            {
                streams.ConfigurePullingAgent(agent => agent.Configure(o => o.GetQueueMsgsTimerPeriod = memoryStreamPullPeriod ?? MemoryStreamPullPeriod));
                // Implicit subscriptions carry invalidations; explicit ones let applications follow shard events.
                streams.ConfigureStreamPubSub(StreamPubSubType.ExplicitGrainBasedAndImplicit);
            });
            silo.AddMemoryGrainStorage(ProviderConstants.DEFAULT_PUBSUB_PROVIDER_NAME);
        }

        silo.AddReminders();

        // A grain call waits at least as long as the longest statement may run, plus a margin: a long read sent through
        // another silo then ends with the statement's own TIMEOUT, not with the messaging layer's.
        silo.Services.AddOptions<SiloMessagingOptions>().Configure<IOptions<TableShardOptions>>(static (messaging, shards) =>
        {
            var floor = Max(shards.Value.StatementTimeout, shards.Value.WriteStatementTimeout) + ResponseTimeoutMargin;
            if (messaging.ResponseTimeout < floor)
            {
                messaging.ResponseTimeout = floor;
            }

            // A shard that has just moved leaves other silos with its old address cached: a call sent there meets no
            // activation, and the silo forwards it to the new primary, sometimes through a short-lived activation that
            // refuses to open the file on the wrong silo. Orleans' default of 2 forwards was used up within a move's
            // hand-over, and the call (never run) answered UNAVAILABLE; a few more let it reach the new primary.
            if (messaging.MaxForwardCount < MinForwardCount)
            {
                messaging.MaxForwardCount = MinForwardCount;
            }
        });
        return silo;
    }

    /// <summary>How much longer than the statement timeout a grain call may wait for its answer (Orleans' <c>ResponseTimeout</c>).</summary>
    public static readonly TimeSpan ResponseTimeoutMargin = TimeSpan.FromSeconds(10);

    /// <summary>The fewest times a silo forwards a call that met no activation (Orleans' <c>MaxForwardCount</c>, 2 by default).</summary>
    public const int MinForwardCount = 6;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}

using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace OrleansShards.Grains.Cluster;

/// <summary>
/// In cluster mode, while the silo starts and before it joins the cluster: refuses to start when another live process
/// already holds this silo's name. A silo's name is its identity (its files, its entries in the ownership map): a
/// second process with the same name would be taken for the first by every other silo, and writes acknowledged by one
/// would be lost to the other.
/// <para>
/// The membership table is read; an entry with this name, not dead, at another address is the question. Its silo
/// port is tried (TCP, <see cref="ProbeTimeout"/>): a connection means a live process (or a frozen one, which may
/// resume) holds the name, and the start fails. No connection (the process was killed and its entry not declared
/// dead yet, a pod gone with its address) lets the start go on: this silo takes the name over, as a restart does. An
/// entry at this silo's own address is a restart in place (the port is ours now).
/// </para>
/// </summary>
internal sealed partial class SiloNameGuard(
    IServiceProvider services,
    IOptions<ShardClusterOptions> options,
    ILocalSiloDetails local,
    ILogger<SiloNameGuard> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>How long the guard waits to connect to the other entry's silo port.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    public void Participate(ISiloLifecycle observer) =>
        observer.Subscribe(nameof(SiloNameGuard), ServiceLifecycleStage.AfterRuntimeGrainServices - 1, CheckAsync, static _ => Task.CompletedTask);

    private async Task CheckAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        var table = services.GetRequiredService<IMembershipTable>();
        var members = await table.ReadAllAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (entry, _) in members.Members)
        {
            if (!string.Equals(entry.SiloName, local.Name, StringComparison.Ordinal)
                || entry.Status is SiloStatus.Dead or SiloStatus.None
                || entry.SiloAddress.Endpoint.Equals(local.SiloAddress.Endpoint))
            {
                continue;
            }

            if (await ReachableAsync(entry.SiloAddress.Endpoint, cancellationToken).ConfigureAwait(false))
            {
                LogNameInUse(local.Name, entry.SiloAddress.ToString(), entry.Status.ToString());
                throw new InvalidOperationException(
                    $"Silo name '{local.Name}' is in use by a live silo at {entry.SiloAddress.Endpoint} ({entry.Status}). Each silo needs its own name " +
                    "(Shards:Cluster:SiloName) and data directory; stop that silo first, or give this one another name.");
            }

            LogTakingOver(local.Name, entry.SiloAddress.ToString(), entry.Status.ToString());
        }
    }

    private static async Task<bool> ReachableAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Silo name {Silo} is held by a live silo at {Address} ({Status}): this silo does not start")]
    private partial void LogNameInUse(string silo, string address, string status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo name {Silo} was last held at {Address} ({Status}), which does not answer: this silo takes the name over")]
    private partial void LogTakingOver(string silo, string address, string status);
}

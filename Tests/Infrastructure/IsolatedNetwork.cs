using System.Diagnostics;

namespace OrleansShards.Tests.Infrastructure;

/// <summary>
/// A network of the test's own, for partition tests: a Linux bridge with an address in the root namespace (where the
/// test and redis-server run) and one network namespace per silo, joined to the bridge by a veth pair. Cutting a
/// silo's link isolates it from everyone (silos, Redis, the test); healing restores it. Needs root and iproute2
/// (the CI machine has both); everything made is removed on dispose, by name.
/// </summary>
public sealed class IsolatedNetwork : IDisposable
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..6];
    private readonly int _subnet = Random.Shared.Next(1, 250);
    private readonly int _count;

    public IsolatedNetwork(int count)
    {
        _count = count;
        try
        {
            Ip($"link add {Bridge} type bridge");
            Ip($"addr add {HostAddress}/24 dev {Bridge}");
            Ip($"link set {Bridge} up");
            for (var i = 1; i <= count; i++)
            {
                Ip($"netns add {NamespaceOf(i)}");
                Ip($"link add {HostEnd(i)} type veth peer name {SiloEnd(i)}");
                Ip($"link set {SiloEnd(i)} netns {NamespaceOf(i)}");
                Ip($"link set {HostEnd(i)} master {Bridge} up");
                Ip($"netns exec {NamespaceOf(i)} ip addr add {AddressOf(i)}/24 dev {SiloEnd(i)}");
                Ip($"netns exec {NamespaceOf(i)} ip link set {SiloEnd(i)} up");
                Ip($"netns exec {NamespaceOf(i)} ip link set lo up");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The bridge's address in the root namespace (Redis listens there).</summary>
    public string HostAddress => $"10.231.{_subnet}.1";

    private string Bridge => "osb" + _id;

    /// <summary>Silo <paramref name="i"/>'s (1-based) address.</summary>
    public string AddressOf(int i) => $"10.231.{_subnet}.{10 + i}";

    /// <summary>Silo <paramref name="i"/>'s network namespace.</summary>
    public string NamespaceOf(int i) => $"os{_id}n{i}";

    private string HostEnd(int i) => $"os{_id}h{i}";

    private string SiloEnd(int i) => $"os{_id}s{i}";

    /// <summary>Cuts silo <paramref name="i"/> off: its link goes down.</summary>
    public void Cut(int i) => Ip($"link set {HostEnd(i)} down");

    /// <summary>Heals <see cref="Cut"/>.</summary>
    public void Heal(int i) => Ip($"link set {HostEnd(i)} up");

    public void Dispose()
    {
        for (var i = 1; i <= _count; i++)
        {
            TryIp($"link del {HostEnd(i)}");
            TryIp($"netns del {NamespaceOf(i)}");
        }

        TryIp($"link del {Bridge}");
    }

    private static void TryIp(string arguments)
    {
        try
        {
            Ip(arguments);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private static void Ip(string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo("ip", arguments) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false })
            ?? throw new InvalidOperationException("ip did not start");
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {arguments}: exit {process.ExitCode}: {error}");
        }
    }
}

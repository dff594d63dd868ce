using System.Net;
using System.Net.Sockets;

/// <summary>A loopback TCP port nothing listens on now: the crash hosts' Orleans silo and gateway ports.</summary>
internal static class LoopbackPort
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

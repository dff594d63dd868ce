using System.Net;

namespace OrleansShards.Silo.Hosting;

/// <summary>Decides whether listen addresses reach only this machine (loopback, unix sockets).</summary>
internal static class LoopbackGuard
{
    /// <summary>The standalone silo's default address.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>The addresses among <paramref name="urls"/> (separated by <c>;</c>) that are not loopback.</summary>
    public static IReadOnlyList<string> NonLoopback(IEnumerable<string?> urls) =>
        urls.Where(u => !string.IsNullOrWhiteSpace(u))
            .SelectMany(u => u!.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Where(u => !IsLoopback(u))
            .ToList();

    /// <summary>True for <c>localhost</c>, 127.0.0.0/8, <c>[::1]</c> and <c>unix:</c> sockets; false for <c>*</c>, <c>+</c>, <c>0.0.0.0</c> and other hosts.</summary>
    public static bool IsLoopback(string url)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        var rest = schemeEnd < 0 ? url : url[(schemeEnd + 3)..];
        if (rest.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash < 0 ? rest : rest[..slash];
        string host;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            host = close < 0 ? authority : authority[1..close];
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
        }

        return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }
}

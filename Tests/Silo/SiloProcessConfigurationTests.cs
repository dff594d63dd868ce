using System.Diagnostics;
using System.Globalization;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Silo;

/// <summary>
/// The standalone silo process refuses an invalid option by naming it and why, and exits with code 2 — it used to
/// abort with exit code 134 and a stack trace (issue 15, item 9).
/// </summary>
public sealed class SiloProcessConfigurationTests
{
    [Theory]
    [InlineData("--Shards:MaxConcurrentRequests=0", "ShardsSiloOptions.MaxConcurrentRequests must be between 1 and")]
    [InlineData("--Shards:Cluster:ReplicationFactor=9", "Shards:Cluster.ReplicationFactor must be between 1 and 7")]
    [InlineData("--Shards:MaxConcurrentRequests=lots", "'lots' at 'Shards:MaxConcurrentRequests'")]
    [InlineData("--Shards:Cache:Ttl=-00:00:01", "ShardCacheOptions.Ttl must be between")]
    [InlineData("--Shards:Cluster:SiloPort=abc", "'abc' at 'Shards:Cluster:SiloPort'")]
    public async Task Silo_exits_with_code_2_naming_the_invalid_option_without_a_stack_trace(string option, string expected)
    {
        using var data = new TempDirectory("bad-option");
        var start = new ProcessStartInfo("dotnet",
        [
            Path.Combine(AppContext.BaseDirectory, "OrleansShards.Silo.dll"),
            "--urls", "http://127.0.0.1:0",
            "--Shards:DataDirectory=" + data.Path,
            "--Shards:Cluster:SiloPort=" + FreePorts.Next().ToString(CultureInfo.InvariantCulture),
            "--Shards:Cluster:GatewayPort=" + FreePorts.Next().ToString(CultureInfo.InvariantCulture),
            option,
        ])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        var (output, error) = (await stdout, await stderr);
        Assert.True(process.ExitCode == 2, $"exit code {process.ExitCode}\nstderr: {error}\nstdout: {output}");
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error + output, StringComparison.Ordinal);
    }
}

using System.Diagnostics;
using System.Text.RegularExpressions;
using OrleansShards.Cli;
using OrleansShards.Client;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Cli;

/// <summary>
/// Issue 15 item 8 in the CLI: long operations show their operation id and progress figures, and output that is not a
/// terminal gets plain lines, never ANSI escape codes.
/// </summary>
[Collection(KestrelSiloCollection.Name)]
public sealed partial class OperationProgressTests(SharedKestrelSilo silo)
{
    private readonly string _tenant = "cliop" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Shard_prints_plain_progress_lines_with_the_operation_id_and_its_figures()
    {
        await CreateOrdersAsync(60);
        var output = new StringWriter();
        var error = new StringWriter();
        var env = new Dictionary<string, string> { ["SHARDS_URL"] = silo.Url.AbsoluteUri, ["SHARDS_TENANT"] = _tenant };

        var exit = await ShardsCli.RunAsync(["shard", "--key", "customer", "--count", "2", "--table", "orders"], CliContext.ForWriters(output, error, null, env));

        var text = output.ToString();
        Assert.True(exit == 0, error.ToString());
        var id = OperationLine().Match(text);
        Assert.True(id.Success, text);
        Assert.Contains($"operation {id.Groups[1].Value} completed: 60 / 60 rows (100%)", text, StringComparison.Ordinal);
        using var client = new ShardsClient(new ShardsClientOptions { Endpoints = [silo.Url] });
        var record = await client.GetOperationAsync(_tenant, id.Groups[1].Value);
        Assert.Equal((OperationKinds.Shard, OperationStates.Completed, 60L), (record!.Kind, record.State, record.Total));
    }

    [Fact]
    public async Task Restore_writes_no_ANSI_codes_when_the_output_is_piped()
    {
        await CreateOrdersAsync(5);
        using var client = new ShardsClient(new ShardsClientOptions { Endpoints = [silo.Url] });
        var orders = client.GetTable(_tenant, "orders");
        var bookmark = (await orders.GetBookmarkAsync(new BookmarkRequest())).Bookmark;
        await orders.MutateAsync(new MutationRequest("DELETE FROM orders"));

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["SHARDS_URL"] = silo.Url.AbsoluteUri, ["SHARDS_TENANT"] = _tenant, ["TERM"] = "xterm-256color" },
        };
        foreach (var arg in new[] { typeof(ShardsCli).Assembly.Location, "restore", bookmark, "--table", "orders" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(process.ExitCode == 0, await stderr);
        var text = await stdout;
        Assert.Contains("restored to " + bookmark, text, StringComparison.Ordinal);
        Assert.Contains(" completed: 3 / 3 steps (100%)", text, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', text);
    }

    private async Task CreateOrdersAsync(int rows)
    {
        using var client = new ShardsClient(new ShardsClientOptions { Endpoints = [silo.Url] });
        var orders = client.GetTable(_tenant, "orders");
        await orders.DdlAsync(new DdlRequest("CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT NOT NULL)"));
        await orders.BatchAsync(new BatchRequest([.. Enumerable.Range(0, rows).Select(i => new Statement("INSERT INTO orders VALUES (?, ?)", [i, "c" + (i % 6)]))]));
    }

    [GeneratedRegex(@"\(operation ([0-9a-f]{32})\)")]
    private static partial Regex OperationLine();
}

using System.Text.Json;
using OrleansShards.Cli;
using OrleansShards.Tests.Client;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Cli;

/// <summary>The <c>shards</c> commands run in-process against a real silo on Kestrel: output and exit codes.</summary>
[Collection(KestrelSiloCollection.Name)]
public sealed class ShardsCliTests(SharedKestrelSilo silo, SecuredKestrelSilo secured)
{
    private readonly string _tenant = "cli" + Guid.NewGuid().ToString("N")[..10];

    private sealed record Run(int Exit, string Out, string Err);

    private async Task<Run> ShardsAsync(string[] args, string? stdin = null, Dictionary<string, string>? environment = null)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var env = environment ?? new Dictionary<string, string> { ["SHARDS_URL"] = silo.Url.AbsoluteUri, ["SHARDS_TENANT"] = _tenant };
        var context = CliContext.ForWriters(output, error, stdin is null ? null : new StringReader(stdin), env);
        var exit = await ShardsCli.RunAsync(args, context);
        return new Run(exit, output.ToString(), error.ToString());
    }

    private Task<Run> ShardsAsync(params string[] args) => ShardsAsync(args, null, null);

    private async Task CreateItemsAsync()
    {
        var ddl = await ShardsAsync("ddl", "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE, qty INTEGER)", "--table", "items");
        Assert.True(ddl.Exit == 0, ddl.Err);
        Assert.StartsWith("ok, bookmark ", ddl.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mutate_and_query_print_a_summary_and_a_table_of_rows()
    {
        await CreateItemsAsync();

        var insert = await ShardsAsync("mutate", "INSERT INTO items (name, qty) VALUES (?, ?)", "-p", "apple", "-p", "3", "--table", "items");
        var nulls = await ShardsAsync("mutate", "INSERT INTO items (name, qty) VALUES (?, ?)", "-p", "\"42\"", "-p", "null", "--table", "items");
        var query = await ShardsAsync("query", "SELECT id, name, qty FROM items ORDER BY id", "--table", "items");

        Assert.Equal(0, insert.Exit);
        Assert.StartsWith("1 change, last insert rowid 1, bookmark ", insert.Out, StringComparison.Ordinal);
        Assert.Equal(0, nulls.Exit);
        Assert.Equal(0, query.Exit);
        var lines = query.Out.Split('\n');
        Assert.Contains(lines, l => l.Contains("│ id │ name", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("│ 1  │ apple │ 3", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("│ 2  │ 42    │ NULL", StringComparison.Ordinal));
        Assert.Contains("2 rows (rows read", query.Out, StringComparison.Ordinal);
        Assert.Empty(query.Err);
    }

    [Fact]
    public async Task Query_with_json_prints_the_answer_as_json()
    {
        await CreateItemsAsync();
        await ShardsAsync("mutate", "INSERT INTO items (name, qty) VALUES ('a', 9007199254740993)", "--table", "items");

        var run = await ShardsAsync("query", "SELECT name, qty FROM items", "--table", "items", "--json");

        Assert.Equal(0, run.Exit);
        var root = JsonDocument.Parse(run.Out).RootElement;
        Assert.Equal("name", root.GetProperty("columns")[0].GetString());
        Assert.Equal(9007199254740993, root.GetProperty("rows")[0][1].GetInt64());
        Assert.Equal("shard", root.GetProperty("meta").GetProperty("servedBy").GetString());
    }

    [Fact]
    public async Task Batch_reads_statements_from_a_file_and_from_stdin()
    {
        await CreateItemsAsync();
        using var dir = new TempDirectory("cli-batch");
        var file = dir.Combine("batch.json");
        await File.WriteAllTextAsync(file, """[{"query":"INSERT INTO items (name, qty) VALUES (?, ?)","params":["a",1]},{"query":"INSERT INTO items (name, qty) VALUES (?, ?)","params":["b",2]}]""");

        var fromFile = await ShardsAsync("batch", file, "--table", "items");
        var fromStdin = await ShardsAsync(["batch", "--table", "items"], """{"statements":[{"query":"UPDATE items SET qty = qty * 10"}]}""");
        var check = await ShardsAsync("query", "SELECT sum(qty) FROM items", "--table", "items", "--json");

        Assert.True(fromFile.Exit == 0, fromFile.Err);
        Assert.Contains("2 statements applied, bookmark", fromFile.Out, StringComparison.Ordinal);
        Assert.True(fromStdin.Exit == 0, fromStdin.Err);
        Assert.Contains("[0] 2 changes", fromStdin.Out, StringComparison.Ordinal);
        Assert.Equal(30, JsonDocument.Parse(check.Out).RootElement.GetProperty("rows")[0][0].GetInt64());
    }

    [Fact]
    public async Task Batch_is_a_usage_error_when_the_file_is_not_a_statement_list()
    {
        var run = await ShardsAsync(["batch", "--table", "items"], "not json");

        Assert.Equal(1, run.Exit);
        Assert.Contains("The batch must be JSON", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tx_begin_prints_the_id_and_commit_applies_the_queued_statements()
    {
        await CreateItemsAsync();

        var begin = await ShardsAsync("tx", "begin", "--table", "items");
        var id = begin.Out.Trim();
        var queued = await ShardsAsync("mutate", "INSERT INTO items (name) VALUES ('t')", "--tx", id, "--table", "items");
        var commit = await ShardsAsync("tx", "commit", id, "--table", "items");
        var again = await ShardsAsync("tx", "rollback", id, "--table", "items");

        Assert.Equal(0, begin.Exit);
        Assert.Matches("^[0-9a-f]{32}$", id);
        Assert.Contains("expires at", begin.Err, StringComparison.Ordinal);
        Assert.Equal($"queued in transaction {id}", queued.Out.Trim());
        Assert.StartsWith("committed 1 statement (1 change), bookmark ", commit.Out, StringComparison.Ordinal);
        Assert.Equal(2, again.Exit);
        Assert.StartsWith("error: TX_NOT_FOUND: ", again.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bookmark_prints_the_current_bookmark_and_accepts_at()
    {
        await CreateItemsAsync();
        var write = await ShardsAsync("mutate", "INSERT INTO items (name) VALUES ('b')", "--table", "items", "--json");
        var expected = JsonDocument.Parse(write.Out).RootElement.GetProperty("bookmark").GetString();

        var now = await ShardsAsync("bookmark", "--table", "items");
        var at = await ShardsAsync("bookmark", "--at", DateTimeOffset.UtcNow.AddMinutes(1).ToString("O"), "--table", "items");
        var badAt = await ShardsAsync("bookmark", "--at", "yesterday-ish", "--table", "items");

        Assert.Equal(0, now.Exit);
        Assert.Equal(expected, now.Out.Trim());
        Assert.Equal(0, at.Exit);
        Assert.EndsWith($".{_tenant}.items", at.Out.Trim(), StringComparison.Ordinal);
        Assert.Equal(1, badAt.Exit);
        Assert.Contains("--at", badAt.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_reports_the_api_error_code_when_the_bookmark_is_malformed()
    {
        await CreateItemsAsync();

        var run = await ShardsAsync("restore", "not-a-bookmark", "--table", "items");

        Assert.Equal(2, run.Exit);
        Assert.StartsWith("error: INVALID_ARGUMENT: ", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_returns_the_table_to_a_bookmark_and_prints_an_undo_bookmark()
    {
        await CreateItemsAsync();
        var bookmark = (await ShardsAsync("bookmark", "--table", "items")).Out.Trim();
        await ShardsAsync("mutate", "INSERT INTO items (name) VALUES ('gone')", "--table", "items");

        var run = await ShardsAsync("restore", bookmark, "--table", "items");
        var count = await ShardsAsync("query", "SELECT count(*) FROM items", "--table", "items", "--json");

        Assert.True(run.Exit == 0, run.Err);
        Assert.Contains($"restored to {bookmark}", run.Out, StringComparison.Ordinal);
        Assert.Contains("undo with: shards restore ", run.Out, StringComparison.Ordinal);
        Assert.Equal(0, JsonDocument.Parse(count.Out).RootElement.GetProperty("rows")[0][0].GetInt64());
    }

    [Fact]
    public async Task Stats_prints_the_shard_figures()
    {
        await CreateItemsAsync();

        var run = await ShardsAsync("stats", "--table", "items");
        var json = await ShardsAsync("stats", "--table", "items", "--json");

        Assert.Equal(0, run.Exit);
        Assert.Contains($"shard", run.Out, StringComparison.Ordinal);
        Assert.Contains($"{_tenant}:items", run.Out, StringComparison.Ordinal);
        Assert.Contains("of 10 GiB", run.Out, StringComparison.Ordinal);
        Assert.Equal($"{_tenant}:items", JsonDocument.Parse(json.Out).RootElement.GetProperty("shard").GetString());
    }

    [Fact]
    public async Task Api_errors_exit_2_with_a_message_naming_the_code()
    {
        await CreateItemsAsync();
        await ShardsAsync("mutate", "INSERT INTO items (name) VALUES ('dup')", "--table", "items");

        var conflict = await ShardsAsync("mutate", "INSERT INTO items (name) VALUES ('dup')", "--table", "items");
        var sql = await ShardsAsync("query", "SELEC 1", "--table", "items");

        Assert.Equal(2, conflict.Exit);
        Assert.StartsWith("error: CONFLICT_UNIQUE: ", conflict.Err, StringComparison.Ordinal);
        Assert.Equal(2, sql.Exit);
        Assert.StartsWith("error: SQL_ERROR: ", sql.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_errors_exit_1()
    {
        var noTenant = await ShardsAsync(["query", "SELECT 1", "--table", "items"], null, new Dictionary<string, string> { ["SHARDS_URL"] = silo.Url.AbsoluteUri });
        var noTable = await ShardsAsync("query", "SELECT 1");
        var unknownOption = await ShardsAsync("query", "SELECT 1", "--table", "items", "--bogus");
        var noCommand = await ShardsAsync("frobnicate");
        var badUrl = await ShardsAsync("stats", "--table", "items", "--url", "ftp://x");

        Assert.Equal(1, noTenant.Exit);
        Assert.Contains("--tenant", noTenant.Err, StringComparison.Ordinal);
        Assert.Equal(1, noTable.Exit);
        Assert.Contains("--table", noTable.Err, StringComparison.Ordinal);
        Assert.Equal(1, unknownOption.Exit);
        Assert.Contains("--bogus", unknownOption.Err, StringComparison.Ordinal);
        Assert.Equal(1, noCommand.Exit);
        Assert.Equal(1, badUrl.Exit);
        Assert.Contains("--url", badUrl.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connection_failures_exit_3_naming_the_url()
    {
        var url = $"http://127.0.0.1:{ShardsHttpTransportTests.ClosedLoopbackPort()}";

        var run = await ShardsAsync("stats", "--table", "items", "--url", url);

        Assert.Equal(3, run.Exit);
        Assert.Contains($"cannot reach the silo at {url}", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_key_comes_from_the_option_or_SHARDS_API_KEY()
    {
        var env = new Dictionary<string, string> { ["SHARDS_URL"] = secured.Url.AbsoluteUri, ["SHARDS_TENANT"] = "alpha" };
        var withoutKey = await ShardsAsync(["stats", "--table", "items"], null, env);
        var withOption = await ShardsAsync(["ddl", "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY)", "--table", "items", "--api-key", SecuredKestrelSilo.AlphaKey], null, env);
        env["SHARDS_API_KEY"] = SecuredKestrelSilo.BetaKey;
        var otherTenantsKey = await ShardsAsync(["stats", "--table", "items"], null, env);

        Assert.Equal(2, withoutKey.Exit);
        Assert.StartsWith("error: UNAUTHENTICATED: ", withoutKey.Err, StringComparison.Ordinal);
        Assert.True(withOption.Exit == 0, withOption.Err);
        Assert.Equal(2, otherTenantsKey.Exit);
        Assert.StartsWith("error: FORBIDDEN: ", otherTenantsKey.Err, StringComparison.Ordinal);

        // Help prints defaults: never the key from the environment.
        var help = await ShardsAsync(["--help"], null, env);
        var commandHelp = await ShardsAsync(["query", "--help"], null, env);
        Assert.Equal(0, help.Exit);
        Assert.DoesNotContain(SecuredKestrelSilo.BetaKey, help.Out + help.Err, StringComparison.Ordinal);
        Assert.DoesNotContain(SecuredKestrelSilo.BetaKey, commandHelp.Out + commandHelp.Err, StringComparison.Ordinal);
        Assert.Contains("--api-key", help.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_every_command_and_exits_0()
    {
        var run = await ShardsAsync("--help");

        Assert.Equal(0, run.Exit);
        foreach (var command in new[] { "query", "mutate", "ddl", "batch", "tx", "bookmark", "restore", "stats", "shard", "unshard", "rebalance", "discover", "query-shards" })
        {
            Assert.Contains("  " + command, run.Out, StringComparison.Ordinal);
        }
    }
}

using System.Globalization;
using OrleansShards.Tests.Silo;

namespace OrleansShards.Tests.SqlLogic;

/// <summary>
/// The real silo (Program on a TestServer, its own temp data directory) for sqllogictest scripts. Statements get the
/// time SQLite would (the corpus's slowest query takes a fraction of a second, not 500 ms under a loaded machine);
/// commits are not fsynced (<c>Synchronous=NORMAL</c>), which changes durability on power loss, never an answer; the
/// per-tenant request rate is not limited.
/// </summary>
public sealed class SqlLogicSilo : SiloFactory
{
    /// <summary>The table every script's statements are sent to: one SQLite file per script.</summary>
    public const string Table = "slt";

    private int _scripts;

    public SqlLogicSilo()
    {
        Settings["Shards:TableShard:StatementTimeout"] = "00:02:00";
        Settings["Shards:TableShard:WriteStatementTimeout"] = "00:02:00";
        Settings["Shards:TableShard:Synchronous"] = "NORMAL";

        // A script is one tenant sending thousands of statements back to back: answers are measured here, not limits.
        Settings["Shards:Limits:RequestsPerWindow"] = "0";
    }

    /// <summary>Runs the script <paramref name="script"/> (relative to <paramref name="root"/>) in a fresh tenant.</summary>
    /// <param name="root">The corpus directory.</param>
    /// <param name="script">The script's path relative to <paramref name="root"/>.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    /// <param name="queryStride">1: every record; n: every statement and every n-th query (see <see cref="SqlLogicRunner"/>).</param>
    internal async Task<SqlLogicFileResult> RunAsync(string root, string script, CancellationToken cancellationToken = default, int queryStride = 1)
    {
        var tenant = "slt" + Interlocked.Increment(ref _scripts).ToString(CultureInfo.InvariantCulture);
        using var client = CreateTenantClient(tenant);
        client.Timeout = TimeSpan.FromMinutes(5);
        var text = await File.ReadAllTextAsync(Path.Combine(root, script), cancellationToken);

        // A table exists only after DDL: a script may query before it creates anything (SELECT 1 IN ()), so the
        // script's shard is created first, with no schema object left behind.
        using var created = await client.PostAsync(
            $"/v1/tables/{Table}/ddl",
            new StringContent("""{"query":"CREATE TABLE slt_created(x); DROP TABLE slt_created"}""", System.Text.Encoding.UTF8, "application/json"),
            cancellationToken);
        created.EnsureSuccessStatusCode();
        return await SqlLogicRunner.RunAsync(script, text, new SqlLogicHttpEngine(client, Table), cancellationToken, queryStride);
    }
}

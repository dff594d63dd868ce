using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace OrleansShards.Tests.Pitr;

/// <summary>
/// A deterministic dump of everything a tenant can see in a shard — schema (tables, indexes, triggers),
/// every user table's rows ordered by rowid with the rowid and each value's type, and sqlite_sequence —
/// hashed with SHA-256.
/// </summary>
internal static class ShardContent
{
    public static async Task<string> HashAsync(ITableShard shard) => Hash(await DumpAsync(shard));

    public static async Task<string> DumpAsync(ITableShard shard)
    {
        var dump = new StringBuilder();
        var schema = await shard.QueryAsync(new QueryRequest(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY type, name"));
        Append(dump, "schema", schema.Rows);
        foreach (var row in schema.Rows)
        {
            var (type, name) = (row[0].AsText, row[1].AsText);
            if (type != "table" || name.StartsWith("sqlite_", StringComparison.Ordinal))
            {
                continue;
            }

            var rows = await shard.QueryAsync(new QueryRequest($"SELECT rowid, * FROM \"{name}\" ORDER BY rowid"));
            Append(dump, name, rows.Rows);
        }

        if (schema.Rows.Any(r => r[1].AsText == "sqlite_sequence"))
        {
            var sequence = await shard.QueryAsync(new QueryRequest("SELECT name, seq FROM sqlite_sequence ORDER BY name"));
            Append(dump, "sqlite_sequence", sequence.Rows);
        }

        return dump.ToString();
    }

    /// <summary>The dump of a shard before its first commit (nothing can be read from it: the table does not exist yet).</summary>
    public static string Empty()
    {
        var dump = new StringBuilder();
        Append(dump, "schema", []);
        return dump.ToString();
    }

    private static string Hash(string dump) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(dump)));

    private static void Append(StringBuilder dump, string title, IReadOnlyList<SqlValue[]> rows)
    {
        dump.Append("# ").Append(title).Append('\n');
        foreach (var row in rows)
        {
            foreach (var value in row)
            {
                dump.Append(value.Kind switch
                {
                    SqlValueKind.Integer => "i:" + value.AsInteger.ToString(CultureInfo.InvariantCulture),
                    SqlValueKind.Real => "r:" + value.AsReal.ToString("R", CultureInfo.InvariantCulture),
                    SqlValueKind.Text => "t:" + value.AsText,
                    SqlValueKind.Blob => "b:" + Convert.ToBase64String(value.AsBlob),
                    _ => "n",
                }).Append('|');
            }

            dump.Append('\n');
        }
    }
}

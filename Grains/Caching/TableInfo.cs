using System.Globalization;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Caching;

/// <summary>
/// What the cache needs to know of the shard's table: columns in order with their affinity, the
/// primary key, and the indexed columns (first column of an index, or the single primary key).
/// Loaded once per schema (DDL resets it).
/// </summary>
internal sealed class TableInfo
{
    private TableInfo(string table, string[] columns, string[] types, int[] primaryKey, HashSet<string> indexed)
    {
        Table = table;
        Columns = columns;
        Types = types;
        PrimaryKey = primaryKey;
        Indexed = indexed;
    }

    public string Table { get; }

    public string[] Columns { get; }

    public string[] Types { get; }

    /// <summary>Column positions of the declared primary key, in key order; empty for a rowid table.</summary>
    public int[] PrimaryKey { get; }

    /// <summary>Columns a row lookup may use.</summary>
    public HashSet<string> Indexed { get; }

    public bool Exists => Columns.Length > 0;

    /// <summary>The column a primary-key lookup compares, or null for a composite key.</summary>
    public string? KeyColumn => PrimaryKey.Length switch
    {
        0 => "rowid",
        1 => Columns[PrimaryKey[0]],
        _ => null,
    };

    public static TableInfo Load(ShardConnection connection, string table)
    {
        var rows = connection.Query("SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid", table);
        var columns = rows.Select(r => r[0].AsText).ToArray();
        var types = rows.Select(r => r[1].Kind == SqlValueKind.Text ? r[1].AsText : string.Empty).ToArray();
        var primaryKey = rows.Select((r, i) => (Pk: r[2].AsInteger, Index: i)).Where(p => p.Pk > 0).OrderBy(p => p.Pk).Select(p => p.Index).ToArray();
        var indexed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in connection.Query(
            "SELECT i.name FROM pragma_index_list(?) AS l, pragma_index_info(l.name) AS i WHERE i.seqno = 0", table))
        {
            if (row[0].Kind == SqlValueKind.Text)
            {
                indexed.Add(row[0].AsText);
            }
        }

        if (primaryKey.Length > 0)
        {
            indexed.Add(columns[primaryKey[0]]);
        }

        return new TableInfo(table, columns, types, primaryKey, indexed);
    }

    /// <summary>
    /// The key text of a lookup value compared with <paramref name="column"/>, after the conversion
    /// SQLite applies for that comparison (column affinity), so it equals the key text of the stored
    /// values it matches. Null when the lookup is not cacheable (NULL, BLOB/none affinity, or a value
    /// whose conversion the key cannot mirror exactly).
    /// </summary>
    public string? LookupKeyText(string column, SqlValue value)
    {
        var affinity = column == "rowid" ? 'I' : AffinityOf(Types[Array.IndexOf(Columns, column)]);
        switch (affinity)
        {
            case 'I' or 'N' or 'R':
                if (value.Kind == SqlValueKind.Text)
                {
                    const NumberStyles Integer = NumberStyles.AllowLeadingSign | NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite;
                    if (long.TryParse(value.AsText, Integer, CultureInfo.InvariantCulture, out var l))
                    {
                        return CacheKeys.ValueText(SqlValue.FromInteger(l));
                    }

                    if (double.TryParse(value.AsText, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
                    {
                        return double.IsFinite(d) ? CacheKeys.ValueText(SqlValue.FromReal(d)) : null;
                    }

                    return value.AsText.Length > 0 && !char.IsWhiteSpace(value.AsText[0]) ? value.AsText : null;
                }

                return value.Kind is SqlValueKind.Integer or SqlValueKind.Real && (value.Kind != SqlValueKind.Real || double.IsFinite(value.AsReal))
                    ? CacheKeys.ValueText(value)
                    : null;
            case 'T':
                return value.Kind switch
                {
                    SqlValueKind.Text => value.AsText,
                    SqlValueKind.Integer => CacheKeys.ValueText(value),
                    _ => null,
                };
            default:
                return null;
        }
    }

    /// <summary>SQLite's affinity rules: I(nteger), T(ext), B(lob/none), R(eal), N(umeric).</summary>
    public static char AffinityOf(string declaredType)
    {
        var t = declaredType.ToUpperInvariant();
        if (t.Contains("INT", StringComparison.Ordinal))
        {
            return 'I';
        }

        if (t.Contains("CHAR", StringComparison.Ordinal) || t.Contains("CLOB", StringComparison.Ordinal) || t.Contains("TEXT", StringComparison.Ordinal))
        {
            return 'T';
        }

        if (t.Length == 0 || t.Contains("BLOB", StringComparison.Ordinal))
        {
            return 'B';
        }

        return t.Contains("REAL", StringComparison.Ordinal) || t.Contains("FLOA", StringComparison.Ordinal) || t.Contains("DOUB", StringComparison.Ordinal)
            ? 'R'
            : 'N';
    }
}

using System.Text;

namespace OrleansShards.Grains.Sharding;

/// <summary>SQL text built by sharding from validated names only (identifiers are quoted; values are always parameters).</summary>
internal static class ShardSql
{
    public const string StagePrefix = "_mv_";
    public const string DeletePrefix = "_mvdel_";

    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    public static string Column(string column, string? alias) => alias is null ? Quote(column) : alias + "." + Quote(column);

    /// <summary>The shard key expression over alias <paramref name="alias"/>: the column, or <c>json_extract</c> of a path in it.</summary>
    public static string KeyExpression(string alias, string column, string? path) =>
        path is null ? Column(column, alias) : $"json_extract({Column(column, alias)}, '$.{path}')";

    /// <summary>Rows of <paramref name="part"/> after a primary-key cursor, in key order.</summary>
    public static string Chunk(TablePart part, bool first, int limit)
    {
        var alias = part.RowAlias;
        var keys = part.PrimaryKeyList(alias);
        var where = first ? string.Empty : part.PrimaryKey.Count == 1
            ? $" WHERE {keys} > ?"
            : $" WHERE ({keys}) > ({string.Join(", ", part.PrimaryKey.Select(_ => "?"))})";
        return $"{part.SelectWithKey}{where} ORDER BY {keys} LIMIT {limit}";
    }

    /// <summary>The row of <paramref name="part"/> with one primary key.</summary>
    public static string ByKey(TablePart part) =>
        $"{part.SelectWithKey} WHERE {string.Join(" AND ", part.PrimaryKey.Select(i => Column(part.Columns[i], part.RowAlias) + " = ?"))}";

    public static string Upsert(string table, IReadOnlyList<string> columns)
    {
        var builder = new StringBuilder("INSERT OR REPLACE INTO ").Append(Quote(table)).Append('(');
        builder.AppendJoin(", ", columns.Select(Quote)).Append(") VALUES (");
        builder.AppendJoin(", ", columns.Select(_ => "?")).Append(')');
        return builder.ToString();
    }

    /// <summary>A plain insert: a row whose primary key (or other unique value) is there already fails, never replaces.</summary>
    public static string Insert(string table, IReadOnlyList<string> columns)
    {
        var builder = new StringBuilder("INSERT INTO ").Append(Quote(table)).Append('(');
        builder.AppendJoin(", ", columns.Select(Quote)).Append(") VALUES (");
        builder.AppendJoin(", ", columns.Select(_ => "?")).Append(')');
        return builder.ToString();
    }

    /// <summary>
    /// Inserts a row, or updates the row with its primary key: unlike <c>INSERT OR REPLACE</c>, a row that breaks another
    /// unique constraint fails instead of deleting the row that holds the value.
    /// </summary>
    public static string UpsertByKey(string table, TablePart part)
    {
        var builder = new StringBuilder(Insert(table, part.Columns));
        builder.Append(" ON CONFLICT(").Append(part.PrimaryKeyList()).Append(") DO ");
        var others = part.Columns.Where((_, i) => !part.PrimaryKey.Contains(i)).ToList();
        if (others.Count == 0)
        {
            return builder.Append("NOTHING").ToString();
        }

        builder.Append("UPDATE SET ").AppendJoin(", ", others.Select(c => Quote(c) + " = excluded." + Quote(c)));
        return builder.ToString();
    }

    public static string DeleteByKey(string table, TablePart part) =>
        $"DELETE FROM {Quote(table)} WHERE {string.Join(" AND ", part.PrimaryKey.Select(i => Quote(part.Columns[i]) + " = ?"))}";

    public static string StageOf(string table) => StagePrefix + table;

    public static string DeletesOf(string table) => DeletePrefix + table;
}

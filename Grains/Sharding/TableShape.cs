namespace OrleansShards.Grains.Sharding;

/// <summary>
/// What a sharding operation needs to know about the table and its child tables (tables of the same file whose
/// foreign key references it): columns in declaration order, primary-key columns, and the SQL that reads rows
/// together with the value of the shard key (a child row takes the key of its parent row).
/// </summary>
internal sealed record TableShape(
    string Table,
    IReadOnlyList<TablePart> Parts,
    IReadOnlyList<string> TableSchema,
    IReadOnlyList<string> LateSchema)
{
    public TablePart Parent => Parts[0];

    public TablePart? Find(string table) => Parts.FirstOrDefault(p => string.Equals(p.Name, table, StringComparison.OrdinalIgnoreCase));
}

/// <summary>One table moved by an operation: the sharded table (first) or a child table.</summary>
/// <param name="Name">Table name.</param>
/// <param name="Columns">Columns in declaration order.</param>
/// <param name="PrimaryKey">Indices into <paramref name="Columns"/> of the primary-key columns, in declaration order.</param>
/// <param name="SelectWithKey">
/// <c>SELECT key, t.* FROM …</c> without WHERE/ORDER: the first column is the shard key value, the rest the row.
/// </param>
/// <param name="RowAlias">The alias of this table's row in <paramref name="SelectWithKey"/>.</param>
internal sealed record TablePart(string Name, IReadOnlyList<string> Columns, IReadOnlyList<int> PrimaryKey, string SelectWithKey, string RowAlias)
{
    public SqlValue[] KeyOf(SqlValue[] row) => [.. PrimaryKey.Select(i => row[i])];

    public string PrimaryKeyList(string? alias = null) => string.Join(", ", PrimaryKey.Select(i => ShardSql.Column(Columns[i], alias)));
}

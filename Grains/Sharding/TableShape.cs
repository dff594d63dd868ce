using Orleans.Concurrency;

namespace OrleansShards.Grains.Sharding;

/// <summary>
/// What a sharding operation needs to know about the table and its child tables (tables of the same file whose
/// foreign key references it): columns in declaration order, primary-key columns, and the SQL that reads rows
/// together with the value of the shard key (a child row takes the key of its parent row).
/// </summary>
[GenerateSerializer, Immutable, Alias("orleansshards.sharding.TableShape")]
internal sealed record TableShape(
    [Id(0)] string Table,
    [Id(1)] IReadOnlyList<TablePart> Parts,
    [Id(2)] IReadOnlyList<string> TableSchema,
    [Id(3)] IReadOnlyList<string> LateSchema,
    [Id(4)] IReadOnlyList<string>? Unmoved = null)
{
    /// <summary>Other tables of the file (neither the table nor a child table) that hold rows: sharding does not move them.</summary>
    public IReadOnlyList<string> UnmovedTables => Unmoved ?? [];

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
[GenerateSerializer, Immutable, Alias("orleansshards.sharding.TablePart")]
internal sealed record TablePart([Id(0)] string Name, [Id(1)] IReadOnlyList<string> Columns, [Id(2)] IReadOnlyList<int> PrimaryKey, [Id(3)] string SelectWithKey, [Id(4)] string RowAlias)
{
    public SqlValue[] KeyOf(SqlValue[] row) => [.. PrimaryKey.Select(i => row[i])];

    public string PrimaryKeyList(string? alias = null) => string.Join(", ", PrimaryKey.Select(i => ShardSql.Column(Columns[i], alias)));
}

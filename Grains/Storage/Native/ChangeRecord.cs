namespace OrleansShards.Grains.Storage.Native;

/// <summary>
/// One row change read from a changeset. <see cref="Old"/> and <see cref="New"/> always have
/// <see cref="ColumnCount"/> entries, in table column order; an entry is null when the changeset
/// holds no value for it: all of <see cref="Old"/> for an insert, all of <see cref="New"/> for a
/// delete, and for an update the columns that did not change (the primary key columns are then
/// present in <see cref="Old"/> only). A table captured by rowid (no declared PRIMARY KEY) has
/// the rowid as an extra first column marked as the primary key.
/// </summary>
/// <param name="Table">The table name.</param>
/// <param name="Op">Insert, update or delete.</param>
/// <param name="ColumnCount">The number of columns recorded for the table.</param>
/// <param name="PrimaryKeyColumns">True for each column that is part of the primary key.</param>
/// <param name="Old">Values before the change.</param>
/// <param name="New">Values after the change.</param>
internal sealed record ChangeRecord(
    string Table,
    ChangeOperation Op,
    int ColumnCount,
    bool[] PrimaryKeyColumns,
    SqlValue?[] Old,
    SqlValue?[] New);

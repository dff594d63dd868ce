namespace OrleansShards.Grains.Sharding;

/// <summary>Writes of moved rows to one shard, applied in one transaction: <see cref="Setup"/>, then deletes, then upserts.</summary>
/// <param name="Setup">Engine statements run first (e.g. creating a staging table).</param>
/// <param name="Writes">Per table: rows to delete and rows to upsert.</param>
internal sealed record ApplyBatch(IReadOnlyList<string> Setup, IReadOnlyList<TableWrite> Writes)
{
    public bool IsEmpty => Setup.Count == 0 && Writes.All(w => w.Deletes.Count == 0 && w.Upserts.Count == 0);
}

/// <summary>Deletes (by key, with <see cref="DeleteSql"/>) and upserts (whole rows, with <see cref="UpsertSql"/>) of one table.</summary>
internal sealed record TableWrite(string DeleteSql, string UpsertSql, List<SqlValue[]> Deletes, List<SqlValue[]> Upserts);

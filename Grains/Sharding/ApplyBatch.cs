using Orleans.Concurrency;

namespace OrleansShards.Grains.Sharding;

/// <summary>Writes of moved rows to one shard, applied in one transaction: <see cref="Setup"/>, then deletes, then upserts.</summary>
/// <param name="Setup">Engine statements run first (e.g. creating a staging table).</param>
/// <param name="Writes">Per table: rows to delete and rows to upsert.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.sharding.ApplyBatch")]
internal sealed record ApplyBatch([Id(0)] IReadOnlyList<string> Setup, [Id(1)] IReadOnlyList<TableWrite> Writes)
{
    public bool IsEmpty => Setup.Count == 0 && Writes.All(w => w.Deletes.Count == 0 && w.Upserts.Count == 0);
}

/// <summary>Deletes (by key, with <see cref="DeleteSql"/>) and upserts (whole rows, with <see cref="UpsertSql"/>) of one table.</summary>
[GenerateSerializer, Immutable, Alias("orleansshards.sharding.TableWrite")]
internal sealed record TableWrite([Id(0)] string DeleteSql, [Id(1)] string UpsertSql, [Id(2)] List<SqlValue[]> Deletes, [Id(3)] List<SqlValue[]> Upserts);

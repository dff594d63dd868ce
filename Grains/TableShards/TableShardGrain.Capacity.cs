namespace OrleansShards.Grains.TableShards;

internal sealed partial class TableShardGrain
{
    /// <summary>
    /// Takes a snapshot when one is due (and waits for a running one), prunes the change log and snapshots
    /// outside the retention window, checkpoints and truncates the WAL, measures the shard, stores <c>capacity:size</c> in <c>_meta</c>, and
    /// prunes expired idempotency keys.
    /// </summary>
    public async Task<ShardStats> RefreshCapacityAsync(CancellationToken cancellationToken = default)
    {
        await _pitr.SnapshotIfDueAsync(_writer.Sequence, _writer.LoggedBytes, Volatile.Read(ref _usedPageBytes));
        await _writer.RunMaintenanceAsync(writer =>
        {
            if (_pitrOptions.Enabled)
            {
                _pitr.Prune(writer);
            }

            // Fold the WAL into the file and truncate it, so the figure is data, not a transient log. A reader
            // still inside a read may keep part of it (the checkpoint then stays partial, which is fine).
            writer.Query("PRAGMA wal_checkpoint(TRUNCATE)");
            var size = MeasureCapacity(writer);
            var horizon = TimeProvider.GetUtcNow().ToUnixTimeMilliseconds() - (long)_options.IdempotencyWindow.TotalMilliseconds;
            writer.Execute("BEGIN IMMEDIATE");
            try
            {
                writer.ExecuteInternal("INSERT OR REPLACE INTO _meta(key, value) VALUES ('capacity:size', ?)", size);
                writer.ExecuteInternal("DELETE FROM _idempotency WHERE at_ms < ?", horizon);
                writer.Execute("COMMIT");
            }
            catch
            {
                writer.Execute("ROLLBACK");
                throw;
            }

            return Task.CompletedTask;
        });
        return Stats();
    }
}

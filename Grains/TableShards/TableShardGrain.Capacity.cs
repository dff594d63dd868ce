namespace OrleansShards.Grains.TableShards;

internal sealed partial class TableShardGrain
{
    /// <summary>
    /// Takes a snapshot when one is due (and waits for a running one), prunes the change log and snapshots
    /// outside the retention window, measures the shard, stores <c>capacity:size</c> in <c>_meta</c>, and
    /// prunes expired idempotency keys.
    /// </summary>
    public async Task<ShardStats> RefreshCapacityAsync(CancellationToken cancellationToken = default)
    {
        await _pitr.SnapshotIfDueAsync(_writer.Sequence).ConfigureAwait(false);
        await _writer.RunMaintenanceAsync(writer =>
        {
            if (_pitrOptions.Enabled)
            {
                _pitr.Prune(writer);
            }

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
        }).ConfigureAwait(false);
        return Stats();
    }
}

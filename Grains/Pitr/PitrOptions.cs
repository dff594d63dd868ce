using System.ComponentModel.DataAnnotations;

namespace OrleansShards.Grains.Pitr;

/// <summary>
/// Options of the change log and point-in-time recovery of every TableShard. Every default is stated;
/// invalid values fail the host at start (see <see cref="PitrServiceCollectionExtensions.ConfigurePitr"/>): every rule is
/// a range, checked by the generated <see cref="PitrOptionsValidator"/>.
/// </summary>
public sealed class PitrOptions
{
    private const string Tick = "00:00:00.0000001";
    private const string Forever = "10675199.02:48:05.4775807";

    /// <summary>
    /// Point-in-time recovery: snapshots, retention pruning, bookmarks by time and restore. Default true. When false
    /// no snapshot is taken, the change log is not pruned, and bookmark-by-time and restore are refused. Changesets
    /// are still captured and logged with every commit either way: cache invalidation and online sharding read
    /// them, so this option does not switch change capture off.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Take a snapshot after this many commits since the last one (once <see cref="SnapshotLogFraction"/> is met
    /// too). Default 10,000.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int SnapshotEveryCommits { get; set; } = 10_000;

    /// <summary>
    /// A snapshot by count also waits until the changesets logged since the last snapshot add up to this fraction
    /// of the shard's used size. A snapshot copies the whole file, so without this a large shard would copy
    /// gigabytes every few thousand commits; with it, the bytes a snapshot copies stay within a fixed multiple
    /// of the bytes logged, however large the shard grows, and a restore replays at most about this fraction
    /// of the file's size (plus <see cref="SnapshotEveryCommits"/> commits) of log. 0 snapshots by count alone.
    /// Default 0.5.
    /// </summary>
    [Range(0d, double.MaxValue)] // finite: NaN and infinity are out of range
    public double SnapshotLogFraction { get; set; } = 0.5;

    /// <summary>
    /// Take a snapshot when this much time passed since the last one and there were commits since
    /// (checked by the capacity reminder), so quiet shards can prune their log too. Default 24 hours.
    /// </summary>
    [Range(typeof(TimeSpan), Tick, Forever)]
    public TimeSpan SnapshotInterval { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How far back a shard can be restored. Every commit newer than <c>now - RetentionPeriod</c>, and the
    /// state at the window's start, stay restorable; older log rows and snapshots are pruned by the
    /// capacity reminder. Default 30 days.
    /// </summary>
    [Range(typeof(TimeSpan), Tick, Forever)]
    public TimeSpan RetentionPeriod { get; set; } = TimeSpan.FromDays(30);
}

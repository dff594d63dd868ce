using Orleans;

namespace OrleansShards;

/// <summary>Where a shard lives: <c>GET /v1/tables/{table}/placement</c>.</summary>
/// <param name="Primary">Name of the silo holding the primary copy.</param>
/// <param name="Replicas">The replicas with the last sequence each applied (empty: replication is not built yet).</param>
/// <param name="Epoch">The primary's epoch, raised by every acquisition (0 in the embedded silo).</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ShardPlacementInfo")]
public sealed record ShardPlacementInfo(
    [Id(0)] string Primary,
    [Id(1)] IReadOnlyList<ReplicaInfo> Replicas,
    [Id(2)] long Epoch);

/// <summary>One replica of a shard.</summary>
/// <param name="Silo">The replica's silo name.</param>
/// <param name="AppliedSeq">The last commit sequence it holds durably.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ReplicaInfo")]
public sealed record ReplicaInfo([Id(0)] string Silo, [Id(1)] long AppliedSeq);

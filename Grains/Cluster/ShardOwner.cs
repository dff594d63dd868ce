namespace OrleansShards.Grains.Cluster;

/// <summary>
/// One shard's entry in the ownership map: the silo (by its stable name) whose copy is the primary, the epoch,
/// raised by every acquisition so that an older activation can be told from the current one, and the silos holding
/// its replicas (comma-separated in <paramref name="ReplicaList"/>; empty without replication).
/// </summary>
/// <param name="Primary">Silo name of the primary.</param>
/// <param name="Epoch">Acquisition counter, starting at 1.</param>
/// <param name="ReplicaList">Silo names of the replicas, comma-separated.</param>
internal sealed record ShardOwner(string Primary, long Epoch, string ReplicaList = "")
{
    /// <summary>The replicas' silo names.</summary>
    public IReadOnlyList<string> Replicas => ReplicaList.Length == 0 ? [] : ReplicaList.Split(',');

    /// <summary>The stored form, <c>primary|epoch</c> or <c>primary|epoch|replica,replica</c> (silo names never hold '|' or ',').</summary>
    public string Encode() => ReplicaList.Length == 0
        ? FormattableString.Invariant($"{Primary}|{Epoch}")
        : FormattableString.Invariant($"{Primary}|{Epoch}|{ReplicaList}");

    /// <summary>Parses <see cref="Encode"/>'s form.</summary>
    public static ShardOwner Decode(string value)
    {
        var parts = value.Split('|');
        return parts.Length is < 2 or > 3 || parts[0].Length == 0
            || !long.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var epoch)
            ? throw new FormatException($"Malformed ownership entry '{value}'.")
            : new ShardOwner(parts[0], epoch, parts.Length == 3 ? parts[2] : "");
    }
}

namespace OrleansShards.Grains.Cluster;

/// <summary>
/// One shard's entry in the ownership map: the silo (by its stable name) whose copy is the primary, and the epoch,
/// raised by every acquisition so that an older activation can be told from the current one.
/// </summary>
/// <param name="Primary">Silo name of the primary.</param>
/// <param name="Epoch">Acquisition counter, starting at 1.</param>
internal sealed record ShardOwner(string Primary, long Epoch)
{
    /// <summary>The stored form, <c>primary|epoch</c> (silo names never hold '|').</summary>
    public string Encode() => FormattableString.Invariant($"{Primary}|{Epoch}");

    /// <summary>Parses <see cref="Encode"/>'s form.</summary>
    public static ShardOwner Decode(string value)
    {
        var bar = value.LastIndexOf('|');
        return bar <= 0 || !long.TryParse(value.AsSpan(bar + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var epoch)
            ? throw new FormatException($"Malformed ownership entry '{value}'.")
            : new ShardOwner(value[..bar], epoch);
    }
}

using System.Globalization;
using Orleans;

namespace OrleansShards;

/// <summary>
/// A bookmark names one commit of one shard: <c>{sequence as 16 hex digits}.{tenant}.{table}</c>.
/// Treat it as opaque; it sorts lexically in commit order within a shard.
/// </summary>
[GenerateSerializer, Immutable, Alias("orleansshards.Bookmark")]
public readonly record struct Bookmark([Id(0)] long Sequence, [Id(1)] string Tenant, [Id(2)] string Table)
{
    /// <summary>The bookmark text.</summary>
    public override string ToString() =>
        Sequence.ToString("x16", CultureInfo.InvariantCulture) + "." + Tenant + "." + Table;

    /// <summary>Parses a bookmark and checks it belongs to shard <paramref name="tenant"/>:<paramref name="table"/>.</summary>
    /// <exception cref="ShardException"><c>INVALID_ARGUMENT</c> when malformed or of another shard.</exception>
    public static Bookmark Parse(string? text, string tenant, string table)
    {
        var bookmark = Parse(text);
        if (!string.Equals(bookmark.Tenant, tenant, StringComparison.Ordinal) || !string.Equals(bookmark.Table, table, StringComparison.Ordinal))
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"The bookmark belongs to shard {bookmark.Tenant}:{bookmark.Table}, not {tenant}:{table}.");
        }

        return bookmark;
    }

    /// <summary>Parses a bookmark of any shard.</summary>
    /// <exception cref="ShardException"><c>INVALID_ARGUMENT</c> when malformed.</exception>
    public static Bookmark Parse(string? text)
    {
        var parts = text?.Split('.') ?? [];
        if (parts.Length != 3
            || parts[0].Length != 16
            || !long.TryParse(parts[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var sequence)
            || sequence < 0
            || !ShardName.IsValid(parts[1])
            || !ShardName.IsValid(parts[2]))
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, "Malformed bookmark.");
        }

        return new Bookmark(sequence, parts[1], parts[2]);
    }
}

using System.Text;

namespace OrleansShards.Grains.Sharding;

/// <summary>SQLite's BINARY ordering of values: NULL, then numbers (by value), then TEXT (UTF-8 bytes), then BLOB (bytes).</summary>
internal sealed class SqlValueOrder : IComparer<SqlValue>
{
    public static SqlValueOrder Instance { get; } = new();

    public int Compare(SqlValue x, SqlValue y)
    {
        var rx = Rank(x.Kind);
        var ry = Rank(y.Kind);
        if (rx != ry)
        {
            return rx.CompareTo(ry);
        }

        return x.Kind switch
        {
            SqlValueKind.Null => 0,
            SqlValueKind.Integer when y.Kind == SqlValueKind.Integer => x.AsInteger.CompareTo(y.AsInteger),
            SqlValueKind.Integer or SqlValueKind.Real => x.AsReal.CompareTo(y.AsReal),
            SqlValueKind.Text => Encoding.UTF8.GetBytes(x.AsText).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(y.AsText)),
            _ => x.AsBlob.AsSpan().SequenceCompareTo(y.AsBlob),
        };
    }

    private static int Rank(SqlValueKind kind) => kind switch
    {
        SqlValueKind.Null => 0,
        SqlValueKind.Integer or SqlValueKind.Real => 1,
        SqlValueKind.Text => 2,
        _ => 3,
    };
}

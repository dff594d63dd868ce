using OrleansShards.Client;

namespace OrleansShards.Tests.Client;

public sealed class RowMappingTests
{
    public enum Status { Open = 1, Closed = 2 }

    public sealed record Order(long Id, string CustomerName, decimal Total, Status Status, DateTimeOffset? ShippedAt, byte[]? Receipt);

    public sealed class Mutable
    {
        public int Id { get; set; }

        public string? Note { get; init; }

        public bool Flag { get; set; }
    }

    private static QueryResult Result(string[] columns, params SqlValue[][] rows) => new(columns, rows, rows.Length, new QueryMeta("shard", 0, null));

    [Fact]
    public void As_fills_a_record_constructor_by_name_ignoring_case_and_underscores()
    {
        var result = Result(
            ["ID", "customer_name", "total", "status", "shipped_at", "receipt", "extra"],
            [1, "ada", 9.5, 2, "2025-01-31T12:00:00Z", new byte[] { 1, 2 }, "ignored"],
            [2, "bob", 3, "open", SqlValue.Null, SqlValue.Null, SqlValue.Null]);

        var orders = result.As<Order>();

        Assert.Equal(1, orders[0].Id);
        Assert.Equal("ada", orders[0].CustomerName);
        Assert.Equal(9.5m, orders[0].Total);
        Assert.Equal(Status.Closed, orders[0].Status);
        Assert.Equal(new DateTimeOffset(2025, 1, 31, 12, 0, 0, TimeSpan.Zero), orders[0].ShippedAt);
        Assert.Equal(new byte[] { 1, 2 }, orders[0].Receipt);
        Assert.Equal(Status.Open, orders[1].Status);
        Assert.Null(orders[1].ShippedAt);
    }

    [Fact]
    public void As_sets_properties_when_the_type_has_a_parameterless_constructor()
    {
        var mapped = Assert.Single(Result(["id", "note", "flag"], [7, "hi", 1]).As<Mutable>());

        Assert.Equal(7, mapped.Id);
        Assert.Equal("hi", mapped.Note);
        Assert.True(mapped.Flag);
    }

    [Fact]
    public void As_maps_the_first_column_when_the_type_is_a_scalar()
    {
        Assert.Equal([3L, 4L], Result(["n"], [3], [4]).As<long>());
        Assert.Equal(["a", null], Result(["s"], ["a"], [SqlValue.Null]).As<string?>());
    }

    [Fact]
    public void As_names_the_parameter_when_no_column_fills_it()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Result(["id"], [1]).As<Order>());

        Assert.Contains("CustomerName", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void As_names_the_column_when_a_value_cannot_convert()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Result(["id", "note", "flag"], [SqlValue.Null, "x", 0]).As<Mutable>());
        var overflow = Assert.Throws<InvalidOperationException>(() => Result(["id"], [long.MaxValue]).As<int>());

        Assert.Contains("'id'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'id'", overflow.Message, StringComparison.Ordinal);
    }
}

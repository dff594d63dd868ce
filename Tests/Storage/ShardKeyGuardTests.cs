using OrleansShards.Grains.Sharding;
using OrleansShards.Grains.Storage;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Storage;

/// <summary>The partition-side check of routed writes (<see cref="ShardKeyGuard"/>) on a real connection.</summary>
public sealed class ShardKeyGuardTests
{
    [Fact]
    public void The_triggers_are_created_once_refuse_a_foreign_row_and_pass_writes_without_a_routed_key()
    {
        using var dir = new TempDirectory("key-guard");
        using var connection = new ShardConnection(dir.Combine("orders__s0.db"), readOnly: false, planCacheSize: 8);
        connection.Execute("CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT)");
        var layout = new ShardLayout("l1", "customer", null, ShardStrategies.RoundRobin, 2, 0);
        var rule = new ShardKeyRule(new ShardKeyCheck("orders", layout, 0, "c1"), row => KeyCodec.Encode(row) == KeyCodec.Encode("c1"));
        var guard = ShardKeyGuard.Of(connection);

        guard.Run(rule, () => connection.Execute("INSERT INTO orders VALUES (1, 'c1')"));
        guard.Run(rule, () => connection.Execute("INSERT INTO orders VALUES (2, 'c1')"));
        Assert.Equal(1, guard.Installs);

        var error = Assert.Throws<ShardException>(() => guard.Run(rule, () => connection.Execute("INSERT INTO orders VALUES (3, 'c2')")));
        Assert.Contains("c2", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, connection.ExecuteScalar("SELECT count(*) FROM orders"));

        // No routed work in progress (an engine write, a move): the triggers let everything through.
        connection.Execute("INSERT INTO orders VALUES (4, 'c2')");
        Assert.Equal(3, connection.ExecuteScalar("SELECT count(*) FROM orders"));
        Assert.Equal(1, guard.Installs);
    }

    [Fact]
    public void A_text_key_with_an_embedded_nul_is_read_whole_and_refused_under_its_prefix()
    {
        using var dir = new TempDirectory("key-guard-nul");
        using var connection = new ShardConnection(dir.Combine("orders__s0.db"), readOnly: false, planCacheSize: 8);
        connection.Execute("CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT)");
        var layout = new ShardLayout("l1", "customer", null, ShardStrategies.Hash, 2, 0);
        var rule = new ShardKeyRule(new ShardKeyCheck("orders", layout, 0, "a"), row => KeyCodec.Encode(row) == KeyCodec.Encode("a"));
        var guard = ShardKeyGuard.Of(connection);

        // A C-string read of "a\0x" would see "a" and let the row into the partition of "a".
        Assert.Throws<ShardException>(() => guard.Run(rule, () => connection.ExecuteInternal("INSERT INTO orders VALUES (1, ?)", "a\0x")));
        guard.Run(rule, () => connection.Execute("INSERT INTO orders VALUES (2, 'a')"));
        Assert.Equal(1, connection.ExecuteScalar("SELECT count(*) FROM orders"));
    }
}

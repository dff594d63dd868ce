using OrleansShards.Grains.Sharding;

namespace OrleansShards.Tests.Sharding;

public sealed class ShardHashingTests
{
    [Fact]
    public void Bucket_is_stable_when_called_again_and_for_equal_values()
    {
        Assert.Equal(ShardHashing.Bucket("org7", 16), ShardHashing.Bucket("org7", 16));
        Assert.Equal(ShardHashing.Bucket(42, 16), ShardHashing.Bucket(42.0, 16));
        Assert.Equal(0, ShardHashing.Bucket("anything", 1));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(31)]
    public void Bucket_moves_only_keys_to_the_new_bucket_when_count_grows(int n)
    {
        const int Keys = 100_000;
        var moved = 0;
        for (var i = 0; i < Keys; i++)
        {
            SqlValue key = "customer-" + i;
            var before = ShardHashing.Bucket(key, n);
            var after = ShardHashing.Bucket(key, n + 1);
            if (before != after)
            {
                Assert.Equal(n, after);
                moved++;
            }
        }

        var minimum = Keys / (double)(n + 1);
        Assert.InRange(moved, minimum * 0.95, minimum * 1.05);
    }

    [Fact]
    public void Bucket_moves_only_keys_of_removed_buckets_when_count_shrinks()
    {
        for (var i = 0; i < 50_000; i++)
        {
            var before = ShardHashing.Bucket(i, 10);
            var after = ShardHashing.Bucket(i, 7);
            if (before < 7)
            {
                Assert.Equal(before, after);
            }
        }
    }

    [Fact]
    public void Bucket_spreads_keys_evenly_when_many()
    {
        var counts = new int[8];
        for (var i = 0; i < 80_000; i++)
        {
            counts[ShardHashing.Bucket(i, 8)]++;
        }

        Assert.All(counts, c => Assert.InRange(c, 9_500, 10_500));
    }
}

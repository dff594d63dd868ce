using OrleansShards.Grains.Cluster;

namespace OrleansShards.Tests.Cluster;

/// <summary>The cluster rebalance's choice of moves, from an ownership map.</summary>
public sealed class RebalancePlanTests
{
    private static List<(string Shard, ShardOwner Owner)> Map(params (string Shard, string Primary, string Replicas)[] entries) =>
        entries.Select(e => (e.Shard, new ShardOwner(e.Primary, 1, e.Replicas))).ToList();

    [Theory]
    [InlineData(new[] { 6, 0, 0 }, 1, 4)]
    [InlineData(new[] { 3, 3, 0 }, 1, 2)]
    [InlineData(new[] { 2, 1, 1 }, 1, 0)]
    [InlineData(new[] { 5, 0 }, 1, 2)]
    [InlineData(new[] { 5, 0 }, 3, 1)]
    [InlineData(new[] { 0, 0 }, 1, 0)]
    public void MovesNeeded_counts_the_fewest_moves_to_within_the_skew(int[] counts, int maxSkew, int moves) =>
        Assert.Equal(moves, RebalancePlan.MovesNeeded([.. counts], maxSkew));

    [Fact]
    public void A_joined_empty_silo_receives_from_the_busiest_preferring_a_shard_it_already_replicates()
    {
        var map = Map(("t:a", "s1", "s2"), ("t:b", "s1", "s3"), ("t:c", "s1", "s2"), ("t:d", "s2", "s1"));
        var plan = RebalancePlan.Next(["s1", "s2", "s3"], map, 1, new HashSet<string>());
        Assert.Equal(3, plan.Counts["s1"]);
        Assert.Equal(0, plan.Counts["s3"]);
        Assert.Equal(new RebalanceMove("t:b", "s1", "s3"), plan.Move);
        Assert.Equal(1, plan.MovesLeft);
    }

    [Fact]
    public void Balanced_silos_need_no_move_and_silos_not_eligible_are_left_alone()
    {
        // s4 is dead or draining (not in the eligible list): its primaries neither count nor move.
        var map = Map(("t:a", "s1", ""), ("t:b", "s2", ""), ("t:c", "s4", ""), ("t:d", "s4", ""), ("t:e", "s4", ""));
        var plan = RebalancePlan.Next(["s1", "s2"], map, 1, new HashSet<string>());
        Assert.Null(plan.Move);
        Assert.Equal(0, plan.MovesLeft);
        Assert.Null(RebalancePlan.Next(["s1"], map, 1, new HashSet<string>()).Move);
    }

    [Fact]
    public void A_shard_tried_once_is_not_chosen_again_and_a_silo_with_none_left_ends_the_plan()
    {
        var map = Map(("t:a", "s1", ""), ("t:b", "s1", ""), ("t:c", "s1", ""));
        var first = RebalancePlan.Next(["s1", "s2"], map, 1, new HashSet<string>());
        Assert.Equal("t:a", first.Move?.Shard);
        var second = RebalancePlan.Next(["s1", "s2"], map, 1, new HashSet<string> { "t:a" });
        Assert.Equal("t:b", second.Move?.Shard);
        var stuck = RebalancePlan.Next(["s1", "s2"], map, 1, new HashSet<string> { "t:a", "t:b", "t:c" });
        Assert.Null(stuck.Move);
        Assert.Equal(1, stuck.MovesLeft);
        Assert.Equal("s1=3, s2=0", stuck.Describe());
    }
}

using BenchmarkDotNet.Running;

namespace OrleansShards.Benchmarks;

public static class Program
{
    public static int Main(string[] args)
    {
        if (args is ["pitr", .. var rest])
        {
            return Pitr.PitrDriver.RunAsync(rest).GetAwaiter().GetResult();
        }

        if (args is ["sharding", .. var shardingArgs])
        {
            return Sharding.ShardingLoad.RunAsync(shardingArgs).GetAwaiter().GetResult();
        }

        if (args is ["inserts", .. var insertArgs])
        {
            return TableShards.InsertDriver.RunAsync(insertArgs).GetAwaiter().GetResult();
        }

        if (args is ["soak", .. var soakArgs])
        {
            return Soak.SoakDriver.RunAsync(soakArgs).GetAwaiter().GetResult();
        }

        if (args is ["cluster", .. var clusterArgs])
        {
            return Cluster.ClusterDriver.RunAsync(clusterArgs).GetAwaiter().GetResult();
        }

        if (args is ["replication", .. var replicationArgs])
        {
            return Cluster.ReplicationDriver.RunAsync(replicationArgs).GetAwaiter().GetResult();
        }

        if (args is ["flood", .. var floodArgs])
        {
            return Flood.FloodDriver.RunAsync(floodArgs).GetAwaiter().GetResult();
        }

        if (args is ["cache-load", ..])
        {
            return Caching.CacheLoadDriver.RunAsync(args[1..]).GetAwaiter().GetResult();
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, BenchmarkConfig.Create());
        return 0;
    }
}

namespace OrleansShards.Cli;

/// <summary>Entry point of <c>shards</c>. Exit codes: 0 ok, 1 usage error, 2 API error, 3 connection failure.</summary>
internal static class Program
{
    public static Task<int> Main(string[] args) => ShardsCli.RunAsync(args, CliContext.FromConsole());
}

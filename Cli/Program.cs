using OrleansShards.Cli;

// shards — see `shards --help`. Exit codes: 0 ok, 1 usage error, 2 API error, 3 connection failure.
return await ShardsCli.RunAsync(args, CliContext.FromConsole());

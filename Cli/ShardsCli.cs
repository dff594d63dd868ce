using System.CommandLine;
using OrleansShards.Cli.Commands;

namespace OrleansShards.Cli;

/// <summary>The <c>shards</c> command tree. Tests run it in-process through <see cref="RunAsync"/>.</summary>
internal static class ShardsCli
{
    public static RootCommand Build(CliContext context)
    {
        var globals = new GlobalOptions(context);
        var runner = new CommandRunner(globals, context);
        var root = new RootCommand(
            "shards — talk to an OrleansShards silo: run SQL on a tenant's table, transactions, bookmarks, restores, sharding.\n" +
            "Exit codes: 0 ok, 1 usage error, 2 API error (the message names the code), 3 cannot reach the silo.");
        globals.AddTo(root);
        root.Subcommands.Add(QueryCommand.Create(runner));
        root.Subcommands.Add(MutateCommand.Create(runner));
        root.Subcommands.Add(DdlCommand.Create(runner));
        root.Subcommands.Add(BatchCommand.Create(runner));
        root.Subcommands.Add(TxCommand.Create(runner));
        root.Subcommands.Add(BookmarkCommand.Create(runner));
        root.Subcommands.Add(RestoreCommand.Create(runner));
        root.Subcommands.Add(StatsCommand.Create(runner));
        root.Subcommands.Add(ShardCommand.Create(runner));
        root.Subcommands.Add(UnshardCommand.Create(runner));
        root.Subcommands.Add(RebalanceCommand.Create(runner));
        root.Subcommands.Add(DiscoverCommand.Create(runner));
        root.Subcommands.Add(QueryShardsCommand.Create(runner));
        return root;
    }

    public static Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken = default)
    {
        var configuration = new InvocationConfiguration { Output = context.Output, Error = context.Error };
        return Build(context).Parse(args).InvokeAsync(configuration, cancellationToken);
    }
}

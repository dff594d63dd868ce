using System.CommandLine;
using OrleansShards.Cli.Output;
using Spectre.Console;

namespace OrleansShards.Cli.Commands;

/// <summary><c>shards discover</c>: the table's shard registry and each shard's health, response time, rows and size as a table.</summary>
internal static class DiscoverCommand
{
    public static Command Create(CommandRunner runner)
    {
        var command = new Command("discover", "Show the shard registry and each shard's health and response time");
        command.SetAction(runner.ForRegistry(async (parse, registry, cancellationToken) =>
        {
            var discovery = await registry.DiscoverAsync(cancellationToken).ConfigureAwait(false);
            if (runner.Json(parse))
            {
                Renderer.Json(runner.Context, discovery, CliJsonContext.Default.ShardDiscovery);
                return;
            }

            if (discovery is not { Sharded: true, Registry: { } info })
            {
                Renderer.Line(runner.Context, "not sharded" + (discovery.Operation is { } op ? $" ({op} in progress)" : string.Empty));
                return;
            }

            var figures = new List<(string, string)>
            {
                ("registry", info.Id),
                ("key", ShardingRenderer.Key(info)),
                ("strategy", info.Strategy + (info.Router is { } router ? $" (router {router})" : string.Empty)),
                ("shards", ShardingRenderer.N(info.Count)),
                ("created", DateTimeOffset.FromUnixTimeMilliseconds(info.CreatedAtUnixMs).ToString("u", System.Globalization.CultureInfo.InvariantCulture)),
            };
            if (discovery.Stats is { } stats)
            {
                figures.Add(("distribution", ShardingRenderer.Distribution(stats)));
            }

            if (discovery.Operation is { } operation)
            {
                figures.Add(("in progress", operation));
            }

            Renderer.Figures(runner.Context, figures);
            var table = new Table().Border(TableBorder.Rounded)
                .AddColumn("shard").AddColumn("index").AddColumn("status")
                .AddColumn(new TableColumn("response").RightAligned()).AddColumn(new TableColumn("rows").RightAligned())
                .AddColumn(new TableColumn("size").RightAligned()).AddColumn("error");
            foreach (var shard in discovery.Shards)
            {
                table.AddRow(
                    new Text(shard.Name),
                    new Text(ShardingRenderer.N(shard.Index)),
                    new Text(shard.Status, new Style(shard.Status == "healthy" ? Color.Green : Color.Red)),
                    new Text(ShardingRenderer.Ms(shard.ResponseTimeMs)),
                    new Text(ShardingRenderer.N(shard.RowCount)),
                    new Text(ShardingRenderer.N(shard.SizeBytes) + " B"),
                    new Text(shard.Error ?? string.Empty));
            }

            runner.Context.Console.Write(table);
            var healthy = discovery.Shards.Count(s => s.Status == "healthy");
            Renderer.Line(runner.Context, $"{healthy} of {Renderer.Count(discovery.Shards.Count, "shard")} healthy");
        }));
        return command;
    }
}

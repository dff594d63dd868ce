using System.CommandLine;
using System.Globalization;
using OrleansShards.Cli.Output;

namespace OrleansShards.Cli.Commands;

/// <summary><c>shards tx begin | commit &lt;id&gt; | rollback &lt;id&gt;</c>: an interactive transaction (statements join it with <c>mutate --tx</c>).</summary>
internal static class TxCommand
{
    public static Command Create(CommandRunner runner)
    {
        var begin = new Command("begin", "Open a transaction and print its id (it expires unless committed)");
        begin.SetAction(runner.ForShard(async (parse, shard, cancellationToken) =>
        {
            var result = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Begin), cancellationToken).ConfigureAwait(false);
            if (runner.Json(parse))
            {
                Renderer.Json(runner.Context, result, CliJsonContext.Default.TransactionResult);
                return;
            }

            // The id alone on stdout, so that TX=$(shards tx begin …) works.
            runner.Context.Output.WriteLine(result.TransactionId);
            if (result.ExpiresAtUnixMs is { } expires)
            {
                await runner.Context.Error.WriteLineAsync(
                    "expires at " + DateTimeOffset.FromUnixTimeMilliseconds(expires).ToString("O", CultureInfo.InvariantCulture)).ConfigureAwait(false);
            }
        }));

        var commitId = new Argument<string>("transaction-id") { Description = "The id printed by tx begin" };
        var idempotencyKey = new Option<string?>("--idempotency-key") { Description = "A repeat with the same key returns the first outcome (default: a new key per call)" };
        var commit = new Command("commit", "Apply every queued statement atomically") { commitId, idempotencyKey };
        commit.SetAction(runner.ForShard(async (parse, shard, cancellationToken) =>
        {
            var request = new TransactionRequest(TransactionOperation.Commit, parse.GetRequiredValue(commitId), parse.GetValue(idempotencyKey));
            var result = await shard.TransactionAsync(request, cancellationToken).ConfigureAwait(false);
            if (runner.Json(parse))
            {
                Renderer.Json(runner.Context, result, CliJsonContext.Default.TransactionResult);
                return;
            }

            var changes = result.Results?.Sum(r => r.Changes) ?? 0;
            Renderer.Line(runner.Context, $"committed {Renderer.Count(result.Results?.Count ?? 0, "statement")} ({Renderer.Count(changes, "change")}), bookmark {result.Bookmark}");
        }));

        var rollbackId = new Argument<string>("transaction-id") { Description = "The id printed by tx begin" };
        var rollback = new Command("rollback", "Drop every queued statement") { rollbackId };
        rollback.SetAction(runner.ForShard(async (parse, shard, cancellationToken) =>
        {
            var result = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Rollback, parse.GetRequiredValue(rollbackId)), cancellationToken).ConfigureAwait(false);
            if (runner.Json(parse))
            {
                Renderer.Json(runner.Context, result, CliJsonContext.Default.TransactionResult);
                return;
            }

            Renderer.Line(runner.Context, $"rolled back {result.TransactionId}");
        }));

        return new Command("tx", "Interactive transactions: begin, then mutate --tx <id>, then commit or rollback") { begin, commit, rollback };
    }
}

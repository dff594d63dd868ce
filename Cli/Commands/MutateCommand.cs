using System.CommandLine;
using OrleansShards.Cli.Output;

namespace OrleansShards.Cli.Commands;

/// <summary><c>shards mutate "INSERT …" [-p value]… [--tx id] [--idempotency-key key]</c>: one write.</summary>
internal static class MutateCommand
{
    public static Command Create(CommandRunner runner)
    {
        var sql = new Argument<string>("sql") { Description = "One INSERT/UPDATE/DELETE/REPLACE statement with ? parameters" };
        var parameters = SqlParameters.CreateOption();
        var transaction = new Option<string?>("--tx") { Description = "Queue the statement in this transaction (from `shards tx begin`)" };
        var idempotencyKey = new Option<string?>("--idempotency-key") { Description = "A repeat with the same key returns the first outcome (default: a new key per call)" };
        var command = new Command("mutate", "Run one write; acknowledged once durable") { sql, parameters, transaction, idempotencyKey };
        command.SetAction(runner.ForShard(async (parse, shard, cancellationToken) =>
        {
            var request = new MutationRequest(
                parse.GetRequiredValue(sql),
                SqlParameters.Parse(parse.GetValue(parameters)),
                parse.GetValue(transaction),
                parse.GetValue(idempotencyKey));
            var result = await shard.MutateAsync(request, cancellationToken).ConfigureAwait(false);
            if (runner.Json(parse))
            {
                Renderer.Json(runner.Context, result, CliJsonContext.Default.MutationResult);
            }
            else if (result.Queued)
            {
                Renderer.Line(runner.Context, $"queued in transaction {request.TransactionId}");
            }
            else
            {
                Renderer.Line(runner.Context, $"{Renderer.Count(result.Changes, "change")}, last insert rowid {result.LastInsertRowId}, bookmark {result.Bookmark}");
            }
        }));
        return command;
    }
}

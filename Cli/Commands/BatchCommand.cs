using System.CommandLine;
using System.Text.Json;
using OrleansShards.Cli.Output;

namespace OrleansShards.Cli.Commands;

/// <summary>
/// <c>shards batch [file]</c>: statements applied atomically, read from a JSON file (or stdin when the file
/// is omitted or <c>-</c>): <c>[{"query":"…","params":[…]}, …]</c> or <c>{"statements":[…]}</c>.
/// </summary>
internal static class BatchCommand
{
    public static Command Create(CommandRunner runner)
    {
        var file = new Argument<string?>("file")
        {
            Description = "JSON file of statements; omit or - for stdin",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var idempotencyKey = new Option<string?>("--idempotency-key") { Description = "A repeat with the same key returns the first outcome (default: a new key per call)" };
        var command = new Command("batch", "Run several statements atomically: all apply or none") { file, idempotencyKey };
        command.SetAction(runner.ForShard(async (parse, shard, cancellationToken) =>
        {
            var statements = await ReadStatementsAsync(parse.GetValue(file), runner.Context, cancellationToken).ConfigureAwait(false);
            var result = await shard.BatchAsync(new BatchRequest(statements, parse.GetValue(idempotencyKey)), cancellationToken).ConfigureAwait(false);
            if (runner.Json(parse))
            {
                Renderer.Json(runner.Context, result, CliJsonContext.Default.BatchResult);
                return;
            }

            for (var i = 0; i < result.Results.Count; i++)
            {
                var r = result.Results[i];
                if (r.Columns is { } columns && r.Rows is { } rows)
                {
                    Renderer.Rows(runner.Context, columns, rows);
                }

                Renderer.Line(runner.Context, $"[{i}] {Renderer.Count(r.Changes, "change")}, last insert rowid {r.LastInsertRowId}");
            }

            Renderer.Line(runner.Context, $"{Renderer.Count(result.Results.Count, "statement")} applied, bookmark {result.Bookmark}");
        }));
        return command;
    }

    private static async Task<IReadOnlyList<Statement>> ReadStatementsAsync(string? path, CliContext context, CancellationToken cancellationToken)
    {
        string json;
        if (string.IsNullOrEmpty(path) || path == "-")
        {
            json = await context.Input.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            try
            {
                json = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"Cannot read {path}: {ex.Message}");
            }
        }

        List<Statement>? statements;
        try
        {
            statements = json.TrimStart().StartsWith('[')
                ? JsonSerializer.Deserialize(json, CliJsonContext.Default.ListStatement)
                : JsonSerializer.Deserialize(json, CliJsonContext.Default.BatchFile)?.Statements;
        }
        catch (JsonException ex)
        {
            throw new UsageException($"The batch must be JSON: [{{\"query\":\"...\",\"params\":[...]}}, ...] or {{\"statements\":[...]}} ({ex.Message}).");
        }

        if (statements is not { Count: > 0 } || statements.Any(s => s is null || string.IsNullOrWhiteSpace(s.Query)))
        {
            throw new UsageException("The batch needs at least one statement, each with a \"query\".");
        }

        return statements;
    }
}

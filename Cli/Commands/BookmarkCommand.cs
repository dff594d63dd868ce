using System.CommandLine;
using System.Globalization;
using OrleansShards.Cli.Output;

namespace OrleansShards.Cli.Commands;

/// <summary><c>shards bookmark [--at time]</c>: the current bookmark, or that of the newest commit at or before a time.</summary>
internal static class BookmarkCommand
{
    public static Command Create(CommandRunner runner)
    {
        var at = new Option<string?>("--at")
        {
            Description = "A time: Unix milliseconds or ISO 8601 (2025-01-31T12:00:00Z); default now",
        };
        var command = new Command("bookmark", "Print the current bookmark, or the one at a past time (for restore)") { at };
        command.SetAction(runner.ForShard(async (parse, shard, cancellationToken) =>
        {
            var result = await shard.GetBookmarkAsync(new BookmarkRequest(ParseTime(parse.GetValue(at))), cancellationToken).ConfigureAwait(false);
            if (runner.Json(parse))
            {
                Renderer.Json(runner.Context, result, CliJsonContext.Default.BookmarkResult);
                return;
            }

            runner.Context.Output.WriteLine(result.Bookmark);
        }));
        return command;
    }

    internal static long? ParseTime(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var unixMs))
        {
            return unixMs;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time.ToUnixTimeMilliseconds()
            : throw new UsageException($"--at must be Unix milliseconds or an ISO 8601 time (got '{text}').");
    }
}

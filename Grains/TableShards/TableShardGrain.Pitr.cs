namespace OrleansShards.Grains.TableShards;

internal sealed partial class TableShardGrain
{
    public async Task<BookmarkResult> GetBookmarkAsync(BookmarkRequest request, CancellationToken cancellationToken = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(request);
            if (request.At is not { } at)
            {
                return new BookmarkResult(BookmarkOf(_writer.Sequence));
            }

            long? sequence = null;
            await _writer.RunMaintenanceAsync(writer =>
            {
                var rows = writer.Query("SELECT max(seq) FROM _changes WHERE at_ms <= ?", at);
                var oldest = writer.Query("SELECT min(seq), min(at_ms) FROM _changes");
                if (rows is [var row, ..] && row[0].Kind == SqlValueKind.Integer)
                {
                    sequence = row[0].AsInteger;
                }
                else if (oldest is [var first, ..] && first[0].Kind == SqlValueKind.Integer && first[0].AsInteger <= 1)
                {
                    // Before the first commit: the empty initial state.
                    sequence = 0;
                }

                return Task.CompletedTask;
            }).ConfigureAwait(false);

            return sequence is { } s
                ? new BookmarkResult(BookmarkOf(s))
                : throw new ShardException(ShardErrorCode.NotFound, "That time is before the shard's retention window.");
        }
        catch (ShardException ex) when (CountError(ex))
        {
            throw;
        }
    }

    public Task<RestoreResult> RestoreAsync(RestoreRequest request, CancellationToken cancellationToken = default) =>
        throw new ShardException(ShardErrorCode.InvalidArgument, "Point-in-time restore is not available in this build.");
}

namespace OrleansShards.Grains.Storage;

/// <summary>
/// The one place busy/locked results are retried: jittered exponential backoff on an awaited delay
/// (never a sleeping thread), then <c>RETRYABLE</c> surfaces to the caller.
/// </summary>
internal static class BusyRetry
{
    public static async Task<T> RunAsync<T>(Func<T> action, int attempts, TimeProvider time, CancellationToken cancellationToken = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return action();
            }
            catch (ShardException ex) when (ex.SqliteCode is { } rc && SqliteResultCodes.IsBusy(rc) && attempt < attempts)
            {
                var backoffMs = Math.Min(1000, 5 * (1 << attempt));
                var jittered = backoffMs / 2 + Random.Shared.Next(backoffMs / 2 + 1);
                await Task.Delay(TimeSpan.FromMilliseconds(jittered), time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public static Task RunAsync(Action action, int attempts, TimeProvider time, CancellationToken cancellationToken = default) =>
        RunAsync(() =>
        {
            action();
            return true;
        }, attempts, time, cancellationToken);
}

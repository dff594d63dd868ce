namespace OrleansShards.Grains.Storage;

/// <summary>
/// The one place busy/locked results are retried: jittered exponential backoff on an awaited delay
/// (never a sleeping thread), then <c>RETRYABLE</c> surfaces to the caller.
/// </summary>
internal static class BusyRetry
{
    public static Task<T> RunAsync<T>(Func<T> action, int attempts, TimeProvider time, CancellationToken cancellationToken = default) =>
        RunAsync(static f => f(), action, attempts, time, cancellationToken);

    public static Task RunAsync(Action action, int attempts, TimeProvider time, CancellationToken cancellationToken = default) =>
        RunAsync(static a =>
        {
            a();
            return true;
        }, action, attempts, time, cancellationToken);

    // The action's state is passed through (static lambdas above): no closure per call on the commit path.
    private static async Task<T> RunAsync<TState, T>(Func<TState, T> action, TState state, int attempts, TimeProvider time, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return action(state);
            }
            catch (ShardException ex) when (ex.SqliteCode is { } rc && SqliteResultCodes.IsBusy(rc) && attempt < attempts)
            {
                var backoffMs = Math.Min(1000, 5 * (1 << attempt));
                var jittered = backoffMs / 2 + Random.Shared.Next(backoffMs / 2 + 1);
                await Task.Delay(TimeSpan.FromMilliseconds(jittered), time, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}

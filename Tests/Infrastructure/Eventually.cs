using System.Diagnostics;

namespace OrleansShards.Tests.Infrastructure;

/// <summary>
/// Waits for a condition that another thread makes true, bounded in real time so a broken
/// expectation fails the test instead of hanging it. Not a sleep: it returns as soon as the
/// condition holds.
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var watch = Stopwatch.StartNew();
        var spin = default(SpinWait);
        while (!condition())
        {
            if (watch.Elapsed > limit)
            {
                Assert.Fail($"Timed out after {limit.TotalSeconds:0.#} s waiting for: {what}");
            }

            spin.SpinOnce(sleep1Threshold: 20);
            if (spin.NextSpinWillYield)
            {
                await Task.Yield();
            }
        }
    }

    /// <summary>Awaits <paramref name="task"/> with a real-time cap (a hang becomes a failure).</summary>
    public static Task<T> Within<T>(this Task<T> task, TimeSpan? timeout = null) => task.WaitAsync(timeout ?? DefaultTimeout);

    /// <summary>Awaits <paramref name="task"/> with a real-time cap (a hang becomes a failure).</summary>
    public static Task Within(this Task task, TimeSpan? timeout = null) => task.WaitAsync(timeout ?? DefaultTimeout);
}

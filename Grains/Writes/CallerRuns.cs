namespace OrleansShards.Grains.Writes;

/// <summary>
/// A hint for the grain calls a thread starts while the scope is open: their caller awaits each call as soon as it
/// returns and has nothing else to run on this thread meanwhile (an HTTP request handler, for example). A grain may
/// then finish the call's work on the caller's thread when nothing else is waiting for it, instead of handing it to a
/// background loop and back, which saves two thread hand-offs on a lone request.
/// </summary>
/// <remarks>
/// Without the hint work is always handed off: a caller that starts several calls before awaiting them
/// (<c>Task.WhenAll</c>) must not wait for the first one's work before it can start the second, or the work could
/// not be batched. The hint lives in a thread-static, so it reaches only the synchronous part of the calls started
/// inside the scope, never their continuations or calls started elsewhere.
/// <code>
/// Task&lt;MutationResult&gt; call;
/// using (CallerRuns.Enter())
/// {
///     call = shard.MutateAsync(request);
/// }
///
/// var result = await call;
/// </code>
/// </remarks>
internal static class CallerRuns
{
    [ThreadStatic]
    private static bool t_active;

    /// <summary>True inside a scope on this thread.</summary>
    public static bool IsActive => t_active;

    /// <summary>Opens a scope on this thread; dispose it right after starting the call, before awaiting it.</summary>
    public static Scope Enter()
    {
        var outer = t_active;
        t_active = true;
        return new Scope(outer);
    }

    /// <summary>Restores the thread's previous state when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly bool _outer;

        internal Scope(bool outer) => _outer = outer;

        /// <inheritdoc />
        public void Dispose() => t_active = _outer;
    }
}

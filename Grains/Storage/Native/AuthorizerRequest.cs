namespace OrleansShards.Grains.Storage.Native;

/// <summary>
/// One authorizer question: the action and its four string arguments as SQLite passes them.
/// Valid only during the callback; nothing is copied or allocated to build it.
/// </summary>
internal readonly ref struct AuthorizerRequest
{
    /// <summary>Creates a request.</summary>
    public AuthorizerRequest(AuthorizerAction action, AuthorizerArgument arg1, AuthorizerArgument arg2, AuthorizerArgument database, AuthorizerArgument triggerOrView)
    {
        Action = action;
        Arg1 = arg1;
        Arg2 = arg2;
        Database = database;
        TriggerOrView = triggerOrView;
    }

    /// <summary>What SQLite is about to do.</summary>
    public AuthorizerAction Action { get; }

    /// <summary>The first argument (see <see cref="AuthorizerAction"/>).</summary>
    public AuthorizerArgument Arg1 { get; }

    /// <summary>The second argument (see <see cref="AuthorizerAction"/>).</summary>
    public AuthorizerArgument Arg2 { get; }

    /// <summary>The schema ("main", "temp", …) when the action concerns one.</summary>
    public AuthorizerArgument Database { get; }

    /// <summary>The innermost trigger or view the access comes from, NULL for top-level SQL.</summary>
    public AuthorizerArgument TriggerOrView { get; }

    /// <summary>A readable description for error messages (allocates), e.g. <c>Pragma journal_mode = 'delete'</c>.</summary>
    public override string ToString() =>
        Action + (Arg1.IsNull ? string.Empty : " " + Arg1.ToString()) + (Arg2.IsNull ? string.Empty : " '" + Arg2.ToString() + "'");
}

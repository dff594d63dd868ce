namespace OrleansShards.Cli;

/// <summary>The process exit codes of <c>shards</c>.</summary>
internal static class ExitCodes
{
    /// <summary>The command succeeded.</summary>
    public const int Ok = 0;

    /// <summary>The command line is wrong: unknown option, missing argument, missing tenant/table, unreadable file.</summary>
    public const int Usage = 1;

    /// <summary>The silo answered with an error; the message names its code (e.g. <c>CONFLICT_UNIQUE</c>).</summary>
    public const int ApiError = 2;

    /// <summary>No silo could be reached at <c>--url</c>.</summary>
    public const int ConnectionFailure = 3;
}

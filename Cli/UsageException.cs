namespace OrleansShards.Cli;

/// <summary>A command line that parses but cannot run (no tenant, unreadable file, bad parameter): exit code 1.</summary>
internal sealed class UsageException(string message) : Exception(message);

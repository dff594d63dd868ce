using Orleans;

namespace OrleansShards;

/// <summary>
/// The one exception type a shard raises for anything a caller did or may retry. It carries
/// the API error code and, when SQLite produced it, the primary and extended result codes.
/// In-process callers receive it unchanged; the client rebuilds it from the HTTP error body.
/// </summary>
[GenerateSerializer, Alias("orleansshards.ShardException")]
public class ShardException : Exception
{
    /// <summary>Creates an error with a code and a message that names the problem.</summary>
    public ShardException(ShardErrorCode code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    /// <summary>Creates an error that came from a SQLite result code.</summary>
    public ShardException(ShardErrorCode code, string message, int sqliteCode, int sqliteExtendedCode, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
        SqliteCode = sqliteCode;
        SqliteExtendedCode = sqliteExtendedCode;
    }

    /// <summary>The API error code.</summary>
    [Id(0)]
    public ShardErrorCode Code { get; }

    /// <summary>True when the same request may succeed if sent again.</summary>
    public bool Retryable => Code.IsRetryable();

    /// <summary>SQLite's primary result code, when SQLite raised the error.</summary>
    [Id(1)]
    public int? SqliteCode { get; }

    /// <summary>SQLite's extended result code, when SQLite raised the error.</summary>
    [Id(2)]
    public int? SqliteExtendedCode { get; }
}

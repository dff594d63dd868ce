namespace OrleansShards;

/// <summary>Operation ids: 1–64 characters of <c>[A-Za-z0-9_-]</c>; a caller may choose one to watch an operation it starts.</summary>
public static class OperationIds
{
    /// <summary>Longest id.</summary>
    public const int MaxLength = 64;

    /// <summary>A new random id (32 hex digits).</summary>
    public static string New() => Guid.NewGuid().ToString("N");

    /// <summary>True when <paramref name="id"/> is a valid operation id.</summary>
    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary><paramref name="id"/> when valid, a new id when null; <c>INVALID_ARGUMENT</c> otherwise.</summary>
    public static string ValidOrNew(string? id) =>
        id is null ? New()
        : IsValid(id) ? id
        : throw new ShardException(ShardErrorCode.InvalidArgument, $"operationId must be 1-{MaxLength} characters of [A-Za-z0-9_-].");
}

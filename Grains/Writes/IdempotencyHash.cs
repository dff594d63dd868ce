using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace OrleansShards.Grains.Writes;

/// <summary>
/// The hash an idempotency key is stored with: SHA-256 over the kind of write, each statement's SQL and each
/// parameter's storage class and value, so two requests hash alike only when they would run the same writes.
/// </summary>
internal static class IdempotencyHash
{
    /// <summary>The longest idempotency key a write may carry (characters): keys are stored, replicated and kept for the idempotency window.</summary>
    public const int MaxKeyLength = 256;

    /// <summary>Refuses a key longer than <see cref="MaxKeyLength"/> (<c>INVALID_ARGUMENT</c>).</summary>
    public static void CheckKey(string? key)
    {
        if (key is { Length: > MaxKeyLength })
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"idempotencyKey is {key.Length} characters; at most {MaxKeyLength} are allowed.");
        }
    }

    /// <summary>The hash of a mutation, batch or transaction COMMIT's statements.</summary>
    public static string Of(WriteKind kind, IReadOnlyList<Statement> statements)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> scratch = stackalloc byte[9];
        scratch[0] = (byte)kind;
        hash.AppendData(scratch[..1]);
        foreach (var statement in statements)
        {
            AppendText(hash, statement.Query, scratch);
            var parameters = statement.Params ?? [];
            BinaryPrimitives.WriteInt32LittleEndian(scratch, parameters.Count);
            hash.AppendData(scratch[..4]);
            foreach (var value in parameters)
            {
                scratch[0] = (byte)value.Kind;
                switch (value.Kind)
                {
                    case SqlValueKind.Integer:
                        BinaryPrimitives.WriteInt64LittleEndian(scratch[1..], value.AsInteger);
                        hash.AppendData(scratch);
                        break;
                    case SqlValueKind.Real:
                        BinaryPrimitives.WriteDoubleLittleEndian(scratch[1..], value.AsReal);
                        hash.AppendData(scratch);
                        break;
                    case SqlValueKind.Text:
                        hash.AppendData(scratch[..1]);
                        AppendText(hash, value.AsText, scratch);
                        break;
                    case SqlValueKind.Blob:
                        hash.AppendData(scratch[..1]);
                        BinaryPrimitives.WriteInt32LittleEndian(scratch, value.AsBlob.Length);
                        hash.AppendData(scratch[..4]);
                        hash.AppendData(value.AsBlob);
                        break;
                    default:
                        hash.AppendData(scratch[..1]);
                        break;
                }
            }
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    /// <summary>The hash of the COMMIT of transaction <paramref name="transactionId"/> (a retry no longer has its statements).</summary>
    public static string OfCommit(string transactionId)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> scratch = stackalloc byte[9];
        hash.AppendData("commit"u8);
        AppendText(hash, transactionId, scratch);
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static void AppendText(IncrementalHash hash, string text, Span<byte> scratch)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        BinaryPrimitives.WriteInt32LittleEndian(scratch, bytes.Length);
        hash.AppendData(scratch[..4]);
        hash.AppendData(bytes);
    }
}

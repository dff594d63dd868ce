using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace OrleansShards.Grains.Sharding;

/// <summary>
/// Consistent hashing of shard keys: a stable 64-bit hash of a <see cref="SqlValue"/> (FNV-1a over a kind tag and the
/// value's bytes, then the SplitMix64 finalizer; the same on every process and platform) fed to Lamping and Veach's
/// jump consistent hash. Growing from n to n+1 buckets moves exactly the keys that land in the new bucket (≈ 1/(n+1));
/// shrinking moves only the keys of the removed buckets. An integral REAL hashes like the equal INTEGER.
/// </summary>
internal static class ShardHashing
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    /// <summary>The bucket in [0, <paramref name="buckets"/>) of <paramref name="key"/>.</summary>
    public static int Bucket(SqlValue key, int buckets) => JumpHash(Hash64(key), buckets);

    public static ulong Hash64(SqlValue key)
    {
        Span<byte> scratch = stackalloc byte[9];
        switch (key.Kind)
        {
            case SqlValueKind.Integer:
                return Integer(key.AsInteger, scratch);
            case SqlValueKind.Real:
                var real = key.AsReal;
                if (real == Math.Floor(real) && real >= long.MinValue && real < long.MaxValue)
                {
                    return Integer((long)real, scratch);
                }

                scratch[0] = (byte)'r';
                BinaryPrimitives.WriteInt64LittleEndian(scratch[1..], BitConverter.DoubleToInt64Bits(real));
                return Mix(Fnv(FnvOffset, scratch));
            case SqlValueKind.Text:
            {
                var text = key.AsText;
                var length = Encoding.UTF8.GetMaxByteCount(text.Length);
                var rented = length <= 256 ? null : ArrayPool<byte>.Shared.Rent(length);
                try
                {
                    Span<byte> buffer = rented ?? stackalloc byte[256];
                    var written = Encoding.UTF8.GetBytes(text, buffer);
                    return Mix(Fnv(Fnv(FnvOffset, "t"u8), buffer[..written]));
                }
                finally
                {
                    if (rented is not null)
                    {
                        ArrayPool<byte>.Shared.Return(rented);
                    }
                }
            }

            case SqlValueKind.Blob:
                return Mix(Fnv(Fnv(FnvOffset, "b"u8), key.AsBlob));
            default:
                return Mix(Fnv(FnvOffset, "n"u8));
        }
    }

    /// <summary>Jump consistent hash (Lamping, Veach 2014).</summary>
    public static int JumpHash(ulong key, int buckets)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(buckets, 1);
        long b = -1, j = 0;
        while (j < buckets)
        {
            b = j;
            key = unchecked((key * 2862933555777941757UL) + 1);
            j = (long)((b + 1) * ((double)(1L << 31) / ((key >> 33) + 1)));
        }

        return (int)b;
    }

    private static ulong Integer(long value, Span<byte> scratch)
    {
        scratch[0] = (byte)'i';
        BinaryPrimitives.WriteInt64LittleEndian(scratch[1..], value);
        return Mix(Fnv(FnvOffset, scratch));
    }

    private static ulong Fnv(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            hash = unchecked((hash ^ b) * FnvPrime);
        }

        return hash;
    }

    private static ulong Mix(ulong z)
    {
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }
}

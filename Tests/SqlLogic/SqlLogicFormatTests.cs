using System.Globalization;
using System.Text;
using SQLitePCL;

namespace OrleansShards.Tests.SqlLogic;

/// <summary>
/// <see cref="SqlLogicFormat"/> renders every kind of value exactly as the C runner does, checked against the bundled
/// SQLite itself: <c>sqlite3_column_int</c>, <c>printf('%.3f')</c> (the runner's <c>sqlite3_snprintf</c> on
/// <c>sqlite3_column_double</c>) and <c>printf('%!.15g')</c> (how the corpus's SQLite turns a REAL into text).
/// </summary>
public sealed class SqlLogicFormatTests
{
    static SqlLogicFormatTests() => Batteries_V2.Init();

    [Fact]
    public void Render_matches_the_C_runner_on_the_bundled_SQLite_for_reals()
    {
        var random = new Random(20241115);
        var values = new List<double>
        {
            0.0, -0.0, 0.5, -0.5, 0.0005, -0.0005, 0.0004999, 0.0006, -0.0001, 1.0005, 2.0005, 12.5, 1e15, 1e16, 1e17, 1e20, 1e100, 1e-5,
            1e-300, double.MaxValue, double.Epsilon, 0.1 + 0.2, 1.0 / 3, 2.0 / 3, 123456789012345678, 9223372036854775807, -9223372036854775808.0,
            -18446744073709551616.0, 4503599627370496.5, 999999999999999.9, 9999999999999999, 0.9995, 99.9995, -43.2455,
        };
        for (var i = 0; i < 3000; i++)
        {
            var magnitude = Math.Pow(10, random.Next(-9, 24));
            var value = Math.Round(random.NextDouble() * 10, random.Next(0, 8)) * magnitude;
            values.Add(random.Next(2) == 0 ? value : -value);
        }

        for (var added = 0; added < 5000;)
        {
            // Full 17-digit mantissas below 1e15. Far above, SQLite's approximate digits can differ from exact ones in the
            // 16th-17th digit (-1.4387150066698005E+22 prints ...698000000000.000 there): no corpus value is that large.
            var bits = BitConverter.Int64BitsToDouble(random.NextInt64(long.MinValue, long.MaxValue));
            if (double.IsFinite(bits) && Math.Abs(bits) is > 1e-40 and < 1e15)
            {
                values.Add(bits);
                added++;
            }
        }

        foreach (var value in values)
        {
            AssertRendersAsSqlite(new SqlLogicValue(SqlLogicValueKind.Real, Real: value));
        }
    }

    [Fact]
    public void Render_matches_the_C_runner_on_the_bundled_SQLite_for_integers_text_and_blobs()
    {
        long[] integers = [0, 1, -1, 42, int.MaxValue, int.MinValue, int.MaxValue + 1L, int.MinValue - 1L, 4294967301, long.MaxValue, long.MinValue, 9007199254740993];
        string[] texts =
        [
            "", "abc", "12abc", "  -7x", "+5", "1e5", "1.9", "-1.9", "  .5e3xyz", "99999999999999999999", "-9223372036854775808", "9223372036854775808",
            "-9223372036854775809", "00012", "-", "e5", "1e", "1.", ".", "\t42", "é", "a\u0001b", "tab\there", "~", "0x10", " 1 2", "1e400", "-0",
        ];
        foreach (var integer in integers)
        {
            AssertRendersAsSqlite(new SqlLogicValue(SqlLogicValueKind.Integer, Integer: integer));
        }

        foreach (var text in texts)
        {
            AssertRendersAsSqlite(SqlLogicValue.FromText(text));
            AssertRendersAsSqlite(new SqlLogicValue(SqlLogicValueKind.Blob, Bytes: Encoding.UTF8.GetBytes(text)));
        }

        AssertRendersAsSqlite(new SqlLogicValue(SqlLogicValueKind.Blob, Bytes: [0x31, 0x00, 0x32]));
    }

    [Fact]
    public void Render_shows_NULL_as_NULL_in_every_column_type()
    {
        Assert.Equal(["NULL", "NULL", "NULL"], "TIR".Select(t => SqlLogicFormat.Render(SqlLogicValue.Null, t)));
    }

    [Fact]
    public void Hash_is_the_md5_of_every_value_followed_by_a_newline()
    {
        // printf '1\n2\n' | md5sum
        Assert.Equal("6ddb4095eb719e2a9f0a3f95677d24e0", SqlLogicFormat.Hash(["1", "2"]));
        Assert.Equal("d41d8cd98f00b204e9800998ecf8427e", SqlLogicFormat.Hash([]));
    }

    private static void AssertRendersAsSqlite(SqlLogicValue value)
    {
        Assert.Equal(raw.SQLITE_OK, raw.sqlite3_open(":memory:", out var db));
        using (db)
        {
            Assert.Equal(raw.SQLITE_OK, raw.sqlite3_prepare_v2(db, "SELECT ?1, printf('%.3f', ?1), printf('%!.15g', ?1)", out var statement));
            using (statement)
            {
                _ = value.Kind switch
                {
                    SqlLogicValueKind.Integer => raw.sqlite3_bind_int64(statement, 1, value.Integer),
                    SqlLogicValueKind.Real => raw.sqlite3_bind_double(statement, 1, value.Real),
                    SqlLogicValueKind.Text => raw.sqlite3_bind_text(statement, 1, value.Bytes!),
                    _ => raw.sqlite3_bind_blob(statement, 1, value.Bytes!),
                };
                Assert.Equal(raw.SQLITE_ROW, raw.sqlite3_step(statement));

                var text = raw.sqlite3_column_blob(statement, 0).ToArray();
                var expectedText = value.Kind == SqlLogicValueKind.Real ? raw.sqlite3_column_text(statement, 2).utf8_to_string() : Runner(TextOf(text));
                Assert.Equal(
                    (value.ToString(), raw.sqlite3_column_int(statement, 0).ToString(CultureInfo.InvariantCulture), raw.sqlite3_column_text(statement, 1).utf8_to_string(), expectedText),
                    (value.ToString(), SqlLogicFormat.Render(value, 'I'), SqlLogicFormat.Render(value, 'R'), value.Kind == SqlLogicValueKind.Real ? SqlLogicFormat.SqlitePrintf(value.Real, 'g', 15, altForm2: true) : SqlLogicFormat.Render(value, 'T')));
            }
        }
    }

    /// <summary>A C string's bytes: up to the first NUL.</summary>
    private static byte[] TextOf(byte[] bytes) => Array.IndexOf(bytes, (byte)0) is var nul and >= 0 ? bytes[..nul] : bytes;

    /// <summary>The C runner's T rendering of text bytes: "(empty)", control and non-ASCII bytes as '@'.</summary>
    private static string Runner(byte[] text) =>
        text.Length == 0 ? "(empty)" : new string([.. text.Select(b => b is < 0x20 or > 0x7E ? '@' : (char)b)]);
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace OrleansShards.Tests.SqlLogic;

/// <summary>
/// Renders result values exactly as sqllogictest's C runner does with the SQLite engine (<c>slt_sqlite.c</c>):
/// NULL (any column type) → <c>NULL</c>; type <c>I</c> → <c>"%d"</c> of <c>sqlite3_column_int</c> (the 64-bit
/// conversion truncated to 32 bits); type <c>R</c> → <c>"%.3f"</c> of <c>sqlite3_column_double</c>; type <c>T</c> →
/// <c>sqlite3_column_text</c>, an empty string as <c>(empty)</c>, every byte below <c>' '</c> or above <c>'~'</c>
/// as <c>@</c>. The conversions and SQLite's own printf are reproduced here, so the store's typed answer is
/// rendered as the C runner would have rendered the same value. <see cref="SqlLogicFormatTests"/> holds them
/// to the bundled SQLite.
/// </summary>
internal static class SqlLogicFormat
{
    public static string Render(SqlLogicValue value, char type) => value.Kind == SqlLogicValueKind.Null
        ? "NULL"
        : type switch
        {
            'I' => ColumnInt(value).ToString(CultureInfo.InvariantCulture),
            'R' => SqlitePrintf(ColumnDouble(value), 'f', 3, altForm2: false),
            'T' => RenderText(ColumnText(value)),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Column types are T, I and R."),
        };

    /// <summary>The md5 the runner compares above the hash threshold: every value followed by a newline, lower-case hex.</summary>
    public static string Hash(IEnumerable<string> values)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        foreach (var value in values)
        {
            md5.AppendData(Encoding.UTF8.GetBytes(value));
            md5.AppendData("\n"u8);
        }

        return Convert.ToHexStringLower(md5.GetHashAndReset());
    }

    /// <summary><c>sqlite3_column_int</c>: the 64-bit conversion, then C's <c>(int)</c> (the low 32 bits).</summary>
    public static int ColumnInt(SqlLogicValue value) => unchecked((int)ColumnInt64(value));

    /// <summary><c>sqlite3_column_int64</c>: REAL truncated toward zero (saturating), TEXT/BLOB by their leading integer.</summary>
    public static long ColumnInt64(SqlLogicValue value) => value.Kind switch
    {
        SqlLogicValueKind.Integer => value.Integer,
        SqlLogicValueKind.Real => RealToInt64(value.Real),
        SqlLogicValueKind.Text or SqlLogicValueKind.Blob => Atoi64(value.Bytes!),
        _ => 0,
    };

    /// <summary><c>sqlite3_column_double</c>: INTEGER widened, TEXT/BLOB by their leading number.</summary>
    public static double ColumnDouble(SqlLogicValue value) => value.Kind switch
    {
        SqlLogicValueKind.Integer => value.Integer,
        SqlLogicValueKind.Real => value.Real,
        SqlLogicValueKind.Text or SqlLogicValueKind.Blob => AtoF(value.Bytes!),
        _ => 0,
    };

    /// <summary>
    /// <c>sqlite3_column_text</c> as the C runner sees it (a C string, so it ends at the first NUL byte). A REAL renders as
    /// <c>"%!.15g"</c>, the rendering of the SQLite that produced the corpus (3.47); no record of the corpus reads a REAL
    /// through a <c>T</c> column, where SQLite 3.53's 17-digit rendering would differ.
    /// </summary>
    public static byte[] ColumnText(SqlLogicValue value)
    {
        var bytes = value.Kind switch
        {
            SqlLogicValueKind.Integer => Encoding.ASCII.GetBytes(value.Integer.ToString(CultureInfo.InvariantCulture)),
            SqlLogicValueKind.Real => Encoding.ASCII.GetBytes(SqlitePrintf(value.Real, 'g', 15, altForm2: true)),
            SqlLogicValueKind.Text or SqlLogicValueKind.Blob => value.Bytes!,
            _ => [],
        };
        var nul = Array.IndexOf(bytes, (byte)0);
        return nul < 0 ? bytes : bytes[..nul];
    }

    private static string RenderText(byte[] text)
    {
        if (text.Length == 0)
        {
            return "(empty)";
        }

        var chars = new char[text.Length];
        for (var i = 0; i < text.Length; i++)
        {
            chars[i] = text[i] is < (byte)' ' or > (byte)'~' ? '@' : (char)text[i];
        }

        return new string(chars);
    }

    /// <summary>SQLite's <c>doubleToInt64</c>: saturates at the 64-bit bounds, otherwise truncates toward zero.</summary>
    public static long RealToInt64(double r) =>
        r <= long.MinValue ? long.MinValue
        : r >= long.MaxValue ? long.MaxValue
        : double.IsNaN(r) ? 0
        : (long)r;

    /// <summary>
    /// SQLite's <c>sqlite3Atoi64</c> as <c>sqlite3_column_int64</c> uses it on text: leading whitespace, an optional sign,
    /// then the leading digits (anything after them ignored); beyond the 64-bit range it saturates.
    /// </summary>
    public static long Atoi64(ReadOnlySpan<byte> text)
    {
        var i = 0;
        while (i < text.Length && IsSpace(text[i]))
        {
            i++;
        }

        var negative = false;
        if (i < text.Length && text[i] is (byte)'-' or (byte)'+')
        {
            negative = text[i] == '-';
            i++;
        }

        while (i < text.Length && text[i] == '0')
        {
            i++;
        }

        var start = i;
        ulong u = 0;
        while (i < text.Length && text[i] is >= (byte)'0' and <= (byte)'9')
        {
            u = unchecked((u * 10) + (ulong)(text[i] - '0'));
            i++;
        }

        var saturated = negative ? long.MinValue : long.MaxValue;
        if (i - start > 19 || u > long.MaxValue)
        {
            return saturated;
        }

        return negative ? -(long)u : (long)u;
    }

    /// <summary>
    /// SQLite's <c>sqlite3AtoF</c> as <c>sqlite3_column_double</c> uses it on text: the longest leading decimal number
    /// (optional sign, digits, fraction, exponent) after whitespace; 0.0 when there is none.
    /// </summary>
    public static double AtoF(ReadOnlySpan<byte> text)
    {
        var i = 0;
        while (i < text.Length && IsSpace(text[i]))
        {
            i++;
        }

        var start = i;
        if (i < text.Length && text[i] is (byte)'-' or (byte)'+')
        {
            i++;
        }

        var digits = 0;
        while (i < text.Length && IsDigit(text[i]))
        {
            i++;
            digits++;
        }

        if (i < text.Length && text[i] == '.')
        {
            i++;
            while (i < text.Length && IsDigit(text[i]))
            {
                i++;
                digits++;
            }
        }

        if (digits == 0)
        {
            return 0;
        }

        var end = i;
        if (i < text.Length && text[i] is (byte)'e' or (byte)'E')
        {
            var j = i + 1;
            if (j < text.Length && text[j] is (byte)'-' or (byte)'+')
            {
                j++;
            }

            if (j < text.Length && IsDigit(text[j]))
            {
                while (j < text.Length && IsDigit(text[j]))
                {
                    j++;
                }

                end = j;
            }
        }

        var number = Encoding.ASCII.GetString(text[start..end]);
        if (number.EndsWith('.'))
        {
            number += "0";
        }

        return double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// SQLite's printf for a double: <c>%.{precision}f</c> (<paramref name="conversion"/> <c>'f'</c>) or
    /// <c>%.{precision}g</c> (<c>'g'</c>), with the <c>!</c> flag when <paramref name="altForm2"/> is set — its
    /// <c>sqlite3FpDecode</c> rounding (at most 16 significant digits without <c>!</c>) and its layout.
    /// </summary>
    public static string SqlitePrintf(double value, char conversion, int precision, bool altForm2)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }

        if (double.IsInfinity(value))
        {
            return value < 0 ? "-Inf" : "Inf";
        }

        var generic = conversion == 'g';
        int iRound;
        if (generic)
        {
            if (precision == 0)
            {
                precision = 1;
            }

            iRound = precision;
        }
        else
        {
            iRound = -precision;
        }

        var (negative, digits, decimalPoint) = FpDecode(value, iRound, altForm2 ? 26 : 16);
        var exponentForm = false;
        bool removeTrailingZeros;
        var exp = decimalPoint - 1;
        if (generic)
        {
            precision--;
            removeTrailingZeros = true;
            if (exp < -4 || exp > precision)
            {
                exponentForm = true;
            }
            else
            {
                precision -= exp;
            }
        }
        else
        {
            removeTrailingZeros = altForm2;
        }

        var e2 = exponentForm ? 0 : decimalPoint - 1;
        var showDecimalPoint = precision > 0 || altForm2;
        var output = new StringBuilder();
        if (negative)
        {
            output.Append('-');
        }

        var j = 0;
        if (e2 < 0)
        {
            output.Append('0');
        }
        else
        {
            for (; e2 >= 0; e2--)
            {
                output.Append(j < digits.Length ? digits[j++] : '0');
            }
        }

        if (showDecimalPoint)
        {
            output.Append('.');
        }

        for (e2++; e2 < 0 && precision > 0; precision--, e2++)
        {
            output.Append('0');
        }

        while (precision-- > 0)
        {
            output.Append(j < digits.Length ? digits[j++] : '0');
        }

        if (removeTrailingZeros && showDecimalPoint)
        {
            while (output[^1] == '0')
            {
                output.Length--;
            }

            if (output[^1] == '.')
            {
                if (altForm2)
                {
                    output.Append('0');
                }
                else
                {
                    output.Length--;
                }
            }
        }

        if (exponentForm)
        {
            output.Append('e').Append(exp < 0 ? '-' : '+');
            exp = Math.Abs(exp);
            if (exp >= 100)
            {
                output.Append((char)('0' + (exp / 100)));
                exp %= 100;
            }

            output.Append((char)('0' + (exp / 10))).Append((char)('0' + (exp % 10)));
        }

        return output.ToString();
    }

    /// <summary>
    /// <c>sqlite3FpDecode</c>: the significant digits (trailing zeros removed) and the position of the decimal point,
    /// rounded half-up to <paramref name="iRound"/> significant digits (or, when not positive, to -iRound digits after
    /// the point), and never to more than <paramref name="mxRound"/>. Like SQLite 3.53 (<c>sqlite3Fp2Convert10</c>) it
    /// first takes 18 significant digits, rounded, or iRound + 1 digits, truncated, when iRound is 1-17; then rounds
    /// to iRound by the next digit alone. SQLite's digits are approximate: for some values far above 1e15 they differ
    /// from the exact ones in the 16th-17th digit; <see cref="SqlLogicFormatTests"/> holds this to SQLite below.
    /// </summary>
    private static (bool Negative, string Digits, int DecimalPoint) FpDecode(double r, int iRound, int mxRound)
    {
        if (r == 0)
        {
            return (false, "0", 1);
        }

        var negative = r < 0;
        var rounded = iRound is <= 0 or >= 18;
        var text = Math.Abs(r).ToString(rounded ? "E17" : "E40", CultureInfo.InvariantCulture);
        var e = text.IndexOf('E', StringComparison.Ordinal);
        var z = new List<char>(text[..e].Replace(".", "", StringComparison.Ordinal));
        if (!rounded)
        {
            z.RemoveRange(iRound + 1, z.Count - iRound - 1);
        }

        var decimalPoint = int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) + 1;
        if (iRound <= 0)
        {
            iRound = decimalPoint - iRound;
            if (iRound == 0 && z[0] >= '5')
            {
                iRound = 1;
                z.Insert(0, '0');
                decimalPoint++;
            }
        }

        if (iRound > 0 && (iRound < z.Count || z.Count > mxRound))
        {
            if (iRound > mxRound)
            {
                iRound = mxRound;
            }

            var roundUp = z[iRound] >= '5';
            z.RemoveRange(iRound, z.Count - iRound);
            if (roundUp)
            {
                for (var j = iRound - 1; ; j--)
                {
                    if (z[j] < '9')
                    {
                        z[j]++;
                        break;
                    }

                    z[j] = '0';
                    if (j == 0)
                    {
                        z.Insert(0, '1');
                        decimalPoint++;
                        break;
                    }
                }
            }
        }

        var n = z.Count;
        while (n > 1 && z[n - 1] == '0')
        {
            n--;
        }

        return (negative, new string([.. z.Take(n)]), decimalPoint);
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\f' or (byte)'\v';

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';
}

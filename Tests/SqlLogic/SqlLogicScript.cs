using System.Globalization;

namespace OrleansShards.Tests.SqlLogic;

/// <summary>A record of a sqllogictest script; <see cref="Line"/> is the line of its first line (1-based).</summary>
internal abstract record SqlLogicRecord(int Line, IReadOnlyList<SqlLogicCondition> Conditions)
{
    /// <summary>False when a <c>skipif</c>/<c>onlyif</c> line excludes <paramref name="engine"/> (compared case-insensitively).</summary>
    public bool RunsOn(string engine) => Conditions.All(c => c.SkipIf != string.Equals(c.Engine, engine, StringComparison.OrdinalIgnoreCase));
}

/// <summary><c>skipif engine</c> (<see cref="SkipIf"/>) or <c>onlyif engine</c>.</summary>
internal sealed record SqlLogicCondition(bool SkipIf, string Engine);

/// <summary><c>statement ok</c> / <c>statement error</c>: the SQL is every following line of the record.</summary>
internal sealed record SqlLogicStatement(int Line, IReadOnlyList<SqlLogicCondition> Conditions, bool ExpectError, string Sql)
    : SqlLogicRecord(Line, Conditions);

/// <summary>
/// <c>query &lt;types&gt; [sortmode] [label]</c>: the SQL runs up to a <c>----</c> line; the expected lines follow it
/// (values one per line, or <c>N values hashing to &lt;md5&gt;</c>).
/// </summary>
internal sealed record SqlLogicQuery(
    int Line,
    IReadOnlyList<SqlLogicCondition> Conditions,
    string Types,
    string SortMode,
    string? Label,
    string Sql,
    IReadOnlyList<string> Expected) : SqlLogicRecord(Line, Conditions);

/// <summary><c>hash-threshold N</c>: results with more than N values compare by their hash (0: never).</summary>
internal sealed record SqlLogicHashThreshold(int Line, IReadOnlyList<SqlLogicCondition> Conditions, int Threshold)
    : SqlLogicRecord(Line, Conditions);

/// <summary><c>halt</c>: the script stops here.</summary>
internal sealed record SqlLogicHalt(int Line, IReadOnlyList<SqlLogicCondition> Conditions) : SqlLogicRecord(Line, Conditions);

/// <summary>
/// Reads the sqllogictest format as its C runner (<c>sqllogictest.c</c>) does: records are runs of non-blank lines
/// (a line of only whitespace is blank; a trailing <c>\r</c> is dropped); lines starting with <c>#</c> are comments,
/// skipped wherever they are; the first line is split on whitespace into at most four tokens.
/// </summary>
internal static class SqlLogicScript
{
    public const string SortNone = "nosort";
    public const string SortRows = "rowsort";
    public const string SortValues = "valuesort";

    public static IReadOnlyList<SqlLogicRecord> Parse(string text)
    {
        var records = new List<SqlLogicRecord>();
        var block = new List<(int Line, string Text)>();
        var lines = text.Split('\n');
        for (var i = 0; i <= lines.Length; i++)
        {
            var line = i < lines.Length ? lines[i].TrimEnd('\r') : "";
            if (string.IsNullOrWhiteSpace(line))
            {
                if (block.Count > 0)
                {
                    records.Add(ParseRecord(block));
                    block.Clear();
                }
            }
            else if (line[0] != '#')
            {
                block.Add((i + 1, line));
            }
        }

        return records;
    }

    private static SqlLogicRecord ParseRecord(List<(int Line, string Text)> block)
    {
        var conditions = new List<SqlLogicCondition>();
        var first = 0;
        string[] tokens;
        while (true)
        {
            tokens = Tokens(block[first].Text);
            if (tokens[0] is not ("skipif" or "onlyif"))
            {
                break;
            }

            conditions.Add(new SqlLogicCondition(tokens[0] == "skipif", tokens.Length > 1 ? tokens[1] : ""));
            if (++first == block.Count)
            {
                throw Malformed(block[0].Line, "a skipif/onlyif line must precede a record");
            }
        }

        var line = block[first].Line;
        var body = block.Skip(first + 1).Select(l => l.Text).ToList();
        switch (tokens[0])
        {
            case "statement":
                var expectError = (tokens.Length > 1 ? tokens[1] : "") switch
                {
                    "ok" => false,
                    "error" => true,
                    _ => throw Malformed(line, "statement must be 'statement ok' or 'statement error'"),
                };
                return new SqlLogicStatement(line, conditions, expectError, string.Join('\n', body));

            case "query":
                var types = tokens.Length > 1 ? tokens[1] : "";
                if (types.Length == 0 || types.Any(c => c is not ('T' or 'I' or 'R')))
                {
                    throw Malformed(line, $"query type string '{types}' must be one or more of T, I, R");
                }

                var sortMode = tokens.Length > 2 ? tokens[2] : SortNone;
                if (sortMode is not (SortNone or SortRows or SortValues))
                {
                    throw Malformed(line, $"unknown sort mode '{sortMode}'");
                }

                var separator = body.IndexOf("----");
                var sql = separator < 0 ? body : body[..separator];
                var expected = separator < 0 ? [] : body[(separator + 1)..];
                return new SqlLogicQuery(line, conditions, types, sortMode, tokens.Length > 3 ? tokens[3] : null, string.Join('\n', sql), expected);

            case "hash-threshold":
                return new SqlLogicHashThreshold(line, conditions, tokens.Length > 1 ? Atoi(tokens[1]) : 0);

            case "halt":
                return new SqlLogicHalt(line, conditions);

            default:
                throw Malformed(line, $"unknown record type '{tokens[0]}'");
        }
    }

    /// <summary>The C runner's tokens: up to four, each cut to 199 characters.</summary>
    private static string[] Tokens(string line) =>
        [.. line.Split((char[]?)null, 5, StringSplitOptions.RemoveEmptyEntries).Take(4).Select(t => t.Length > 199 ? t[..199] : t)];

    /// <summary>C's <c>atoi</c>: the leading integer, 0 when there is none.</summary>
    private static int Atoi(string text)
    {
        var end = 0;
        while (end < text.Length && (char.IsAsciiDigit(text[end]) || (end == 0 && text[end] is '-' or '+')))
        {
            end++;
        }

        return int.TryParse(text.AsSpan(0, end), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : 0;
    }

    private static FormatException Malformed(int line, string message) => new($"line {line}: {message}");
}

using System.Text.RegularExpressions;

namespace OrleansShards.Tests.SqlLogic;

/// <summary>
/// What the harness needs to know about a record's SQL: its statements (a <c>statement</c> record may hold several,
/// as <c>sqlite3_exec</c> runs them), the leading keyword that picks the HTTP route, and the statements the store
/// refuses by design.
/// </summary>
internal static partial class SqlLogicSql
{
    static SqlLogicSql() => SQLitePCL.Batteries_V2.Init();

    /// <summary>
    /// Splits <paramref name="sql"/> into statements where SQLite's own <c>sqlite3_complete</c> says one ends (so a
    /// <c>;</c> inside a string, a comment or a trigger body does not split). Empty statements are dropped.
    /// </summary>
    public static IReadOnlyList<string> Split(string sql)
    {
        var statements = new List<string>();
        var start = 0;
        for (var i = sql.IndexOf(';'); i >= 0; i = sql.IndexOf(';', i + 1))
        {
            var candidate = sql[start..(i + 1)];
            if (SQLitePCL.raw.sqlite3_complete(candidate) != 0)
            {
                Add(candidate);
                start = i + 1;
            }
        }

        Add(sql[start..]);
        return statements;

        void Add(string statement)
        {
            if (LeadingKeyword(statement).Length > 0)
            {
                statements.Add(statement.Trim());
            }
        }
    }

    /// <summary>The first keyword, upper-cased, after whitespace and comments ("" when there is none).</summary>
    public static string LeadingKeyword(string statement)
    {
        var match = LeadingKeywordPattern().Match(statement);
        return match.Success ? match.Groups[1].Value.ToUpperInvariant() : "";
    }

    /// <summary>
    /// Why the store refuses <paramref name="statement"/> by design, or null when it has no such reason. Only counted
    /// when the store does refuse it: the documented limits of tenant SQL (the authorizer's rules).
    /// </summary>
    public static string? RefusalReason(string statement)
    {
        var keyword = LeadingKeyword(statement);
        return keyword switch
        {
            "BEGIN" or "COMMIT" or "END" or "ROLLBACK" or "SAVEPOINT" or "RELEASE" => "transaction control belongs to the transaction route",
            "PRAGMA" => "PRAGMAs outside a read-only allowlist are refused",
            "ATTACH" or "DETACH" => "ATTACH/DETACH are refused",
            "VACUUM" => "VACUUM is refused (it needs ATTACH)",
            _ when TempObjectPattern().IsMatch(statement) => "TEMP schema objects are refused (they would outlive the call on a shared connection)",
            _ when ReservedNamePattern().IsMatch(WithoutStrings(statement)) => "names starting with '_' are reserved for the engine's tables",
            _ => null,
        };
    }

    /// <summary>The name of the table, view, index or trigger a CREATE statement makes (null for other statements).</summary>
    public static string? CreatedName(string statement)
    {
        var match = CreatePattern().Match(statement);
        return match.Success ? match.Groups[1].Value.Trim('"', '[', ']', '`') : null;
    }

    /// <summary>True when <paramref name="sql"/> uses <paramref name="name"/> as a word (case-insensitive).</summary>
    public static bool Mentions(string sql, string name) =>
        Regex.IsMatch(sql, $@"(?<![\w$]){Regex.Escape(name)}(?![\w$])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    private static string WithoutStrings(string sql) => StringLiteralPattern().Replace(sql, "''");

    [GeneratedRegex(@"\A(?:\s+|--[^\n]*(?:\n|\z)|/\*.*?\*/)*([A-Za-z]+)", RegexOptions.Singleline)]
    private static partial Regex LeadingKeywordPattern();

    [GeneratedRegex(@"\A\s*CREATE\s+TEMP(?:ORARY)?\s", RegexOptions.IgnoreCase)]
    private static partial Regex TempObjectPattern();

    [GeneratedRegex(@"(?<![\w$])_\w*")]
    private static partial Regex ReservedNamePattern();

    [GeneratedRegex(@"'(?:[^']|'')*'")]
    private static partial Regex StringLiteralPattern();

    [GeneratedRegex(@"\A\s*CREATE\s+(?:TEMP(?:ORARY)?\s+)?(?:UNIQUE\s+)?(?:TABLE|VIEW|INDEX|TRIGGER)\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w$""\[\]`]+)", RegexOptions.IgnoreCase)]
    private static partial Regex CreatePattern();
}

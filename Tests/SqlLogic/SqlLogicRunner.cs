using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace OrleansShards.Tests.SqlLogic;

internal enum SqlLogicVerdict
{
    Passed,
    Failed,
    RefusedByDesign,
}

/// <summary>The outcome of one record: for a failure what was expected and what came; for a refusal the reason.</summary>
internal sealed record SqlLogicOutcome(string File, int Line, SqlLogicVerdict Verdict, string Sql, string Detail)
{
    public override string ToString() => $"{File}:{Line}: {Verdict}\n  SQL: {Indent(Sql)}\n  {Indent(Detail)}";

    private static string Indent(string text) => text.Replace("\n", "\n       ", StringComparison.Ordinal);
}

/// <summary>The totals of one script, and every record that did not pass.</summary>
internal sealed class SqlLogicFileResult(string file)
{
    public string File { get; } = file;

    /// <summary>Records executed (statements and queries that apply to SQLite).</summary>
    public int Run { get; private set; }

    public int Passed { get; private set; }

    public int Failed { get; private set; }

    public int Refused { get; private set; }

    /// <summary>Records a <c>skipif sqlite</c> / <c>onlyif &lt;other engine&gt;</c> excludes.</summary>
    public int Skipped { get; set; }

    /// <summary>Queries left out by a sampled run (see <see cref="SqlLogicRunner.RunAsync"/>'s query stride).</summary>
    public int SampledOut { get; set; }

    public TimeSpan Elapsed { get; set; }

    /// <summary>Failures and refusals, in script order.</summary>
    public List<SqlLogicOutcome> NotPassed { get; } = [];

    /// <summary>Queries that passed because SQLite's error where no rows are expected reads as no rows (see the runner).</summary>
    public List<string> ErrorsReadAsNoRows { get; } = [];

    public void Add(SqlLogicOutcome outcome)
    {
        Run++;
        switch (outcome.Verdict)
        {
            case SqlLogicVerdict.Passed:
                Passed++;
                return;
            case SqlLogicVerdict.Failed:
                Failed++;
                break;
            default:
                Refused++;
                break;
        }

        NotPassed.Add(outcome);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{File}: {Run} run, {Passed} passed, {Refused} refused by design, {Failed} failed, {Skipped} skipped for SQLite, {SampledOut} queries sampled out ({Elapsed.TotalSeconds:F1} s)");
}

/// <summary>
/// Runs a sqllogictest script as the C runner does for engine "sqlite" (<c>sqllogictest.c</c> in verify mode), against
/// an <see cref="ISqlLogicEngine"/>, and judges every record. Stricter than the C runner in one way: a result with
/// fewer or more values than expected fails (the C runner only reports that since late 2024).
/// </summary>
/// <remarks>
/// A statement the store refuses by design (<see cref="SqlLogicSql.RefusalReason"/>) counts as refused, never as passed,
/// even where the record expects an error; so does every later record using an object whose CREATE was refused.
/// </remarks>
internal sealed class SqlLogicRunner
{
    public const string EngineName = "sqlite";
    public const int DefaultHashThreshold = 8;
    private const int LabelKeyLength = 20;
    private const int ShownLines = 12;

    private readonly string _file;
    private readonly ISqlLogicEngine _engine;
    private readonly SqlLogicFileResult _result;
    private readonly Dictionary<string, string> _labels = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _refusedObjects = new(StringComparer.OrdinalIgnoreCase);
    private readonly int _queryStride;
    private int _hashThreshold = DefaultHashThreshold;
    private int _queries;

    private SqlLogicRunner(string file, ISqlLogicEngine engine, int queryStride)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queryStride, 1);
        _queryStride = queryStride;
        _file = file;
        _engine = engine;
        _result = new SqlLogicFileResult(file);
    }

    /// <summary>
    /// Runs <paramref name="script"/>. With <paramref name="queryStride"/> above 1 the run is sampled: every statement
    /// runs (the script's state evolves as written), but only every <paramref name="queryStride"/>-th query (the first,
    /// then every n-th, in script order) is sent and judged; a query reads and never changes that state.
    /// </summary>
    public static Task<SqlLogicFileResult> RunAsync(string file, string script, ISqlLogicEngine engine, CancellationToken cancellationToken = default, int queryStride = 1) =>
        new SqlLogicRunner(file, engine, queryStride).RunAsync(SqlLogicScript.Parse(script), cancellationToken);

    private async Task<SqlLogicFileResult> RunAsync(IReadOnlyList<SqlLogicRecord> records, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        foreach (var record in records)
        {
            if (!record.RunsOn(EngineName))
            {
                _result.Skipped++;
                continue;
            }

            if (record is SqlLogicHalt)
            {
                break;
            }

            switch (record)
            {
                case SqlLogicHashThreshold threshold:
                    _hashThreshold = threshold.Threshold;
                    break;
                case SqlLogicStatement statement:
                    _result.Add(await RunStatementAsync(statement, cancellationToken));
                    break;
                case SqlLogicQuery when _queries++ % _queryStride != 0:
                    _result.SampledOut++;
                    break;
                case SqlLogicQuery query:
                    _result.Add(await RunQueryAsync(query, cancellationToken));
                    break;
            }
        }

        _result.Elapsed = watch.Elapsed;
        return _result;
    }

    private async Task<SqlLogicOutcome> RunStatementAsync(SqlLogicStatement record, CancellationToken cancellationToken)
    {
        var error = await _engine.ExecuteAsync(record.Sql, cancellationToken);
        var statements = SqlLogicSql.Split(record.Sql);
        if (error is not null && statements.Select(SqlLogicSql.RefusalReason).FirstOrDefault(r => r is not null) is { } reason)
        {
            foreach (var name in statements.Select(SqlLogicSql.CreatedName).OfType<string>())
            {
                _refusedObjects[name] = reason;
            }

            return Outcome(record, SqlLogicVerdict.RefusedByDesign, $"{reason} (the store answered {error})");
        }

        if (UsesRefusedObject(record.Sql) is { } dependency)
        {
            return Outcome(record, SqlLogicVerdict.RefusedByDesign, dependency);
        }

        if (error is null)
        {
            foreach (var name in statements.Select(SqlLogicSql.CreatedName).OfType<string>())
            {
                _refusedObjects.Remove(name);
            }

            return record.ExpectError
                ? Outcome(record, SqlLogicVerdict.Failed, "expected: an error (SQLite rejects this statement)\nactual:   ok")
                : Outcome(record, SqlLogicVerdict.Passed);
        }

        if (!record.ExpectError)
        {
            return Outcome(record, SqlLogicVerdict.Failed, $"expected: ok\nactual:   {error}");
        }

        return error.FromSql
            ? Outcome(record, SqlLogicVerdict.Passed)
            : Outcome(record, SqlLogicVerdict.Failed, $"expected: an error from SQLite\nactual:   an error that is not SQLite's: {error}");
    }

    private async Task<SqlLogicOutcome> RunQueryAsync(SqlLogicQuery record, CancellationToken cancellationToken)
    {
        var answer = await _engine.QueryAsync(record.Sql, cancellationToken);
        if (UsesRefusedObject(record.Sql) is { } dependency)
        {
            return Outcome(record, SqlLogicVerdict.RefusedByDesign, dependency);
        }

        if (answer.Error is { } error)
        {
            if (SqlLogicSql.RefusalReason(record.Sql) is { } reason)
            {
                return Outcome(record, SqlLogicVerdict.RefusedByDesign, $"{reason} (the store answered {error})");
            }

            if (!error.FromSql || record.Expected.Count > 0)
            {
                return Outcome(record, SqlLogicVerdict.Failed, $"expected: {Show(record.Expected)}\nactual:   query failed: {error}");
            }

            // The C runner reads rows while sqlite3_step returns SQLITE_ROW: an error raised while stepping ends the result
            // (the corpus expects no rows from a sum() that overflows). SQLite's error where no rows are expected is that.
            _result.ErrorsReadAsNoRows.Add($"{_file}:{record.Line}: {error}");
            answer = new SqlLogicAnswer(record.Types.Length, []);
        }

        if (answer.ColumnCount != record.Types.Length)
        {
            return Outcome(record, SqlLogicVerdict.Failed,
                $"expected: {record.Types.Length} result columns ({record.Types})\nactual:   {answer.ColumnCount} result columns");
        }

        var values = new List<string>(answer.Rows.Count * answer.ColumnCount);
        foreach (var row in answer.Rows)
        {
            if (row.Length != record.Types.Length)
            {
                return Outcome(record, SqlLogicVerdict.Failed, $"expected: rows of {record.Types.Length} values\nactual:   a row of {row.Length} values");
            }

            for (var i = 0; i < row.Length; i++)
            {
                values.Add(SqlLogicFormat.Render(row[i], record.Types[i]));
            }
        }

        Sort(values, record.SortMode, record.Types.Length);
        var hash = SqlLogicFormat.Hash(values);
        IReadOnlyList<string> actual = _hashThreshold > 0 && values.Count > _hashThreshold
            ? [string.Create(CultureInfo.InvariantCulture, $"{values.Count} values hashing to {hash}")]
            : values;

        if (!actual.SequenceEqual(record.Expected, StringComparer.Ordinal))
        {
            var detail = new StringBuilder()
                .Append("expected: ").AppendLine(Show(record.Expected))
                .Append("actual:   ").Append(Show(actual));
            if (actual.Count == 1 && values.Count > 1)
            {
                detail.AppendLine().Append("values:   ").Append(Show(values));
            }

            return Outcome(record, SqlLogicVerdict.Failed, detail.ToString());
        }

        if (record.Label is { } label)
        {
            var key = label.Length > LabelKeyLength ? label[..LabelKeyLength] : label;
            if (_labels.TryGetValue(key, out var previous) && previous != hash)
            {
                return Outcome(record, SqlLogicVerdict.Failed, $"labeled result [{label}] does not agree with previous values (md5 {previous}, now {hash})");
            }

            _labels[key] = hash;
        }

        return Outcome(record, SqlLogicVerdict.Passed);
    }

    /// <summary>rowsort: rows ordered by their rendered values (C's <c>strcmp</c>, column by column); valuesort: every value alone.</summary>
    private static void Sort(List<string> values, string sortMode, int columns)
    {
        if (sortMode == SqlLogicScript.SortValues)
        {
            values.Sort(StringComparer.Ordinal);
        }
        else if (sortMode == SqlLogicScript.SortRows && columns > 1)
        {
            var rows = values.Chunk(columns).ToList();
            rows.Sort((a, b) =>
            {
                for (var i = 0; i < columns; i++)
                {
                    var c = string.CompareOrdinal(a[i], b[i]);
                    if (c != 0)
                    {
                        return c;
                    }
                }

                return 0;
            });
            values.Clear();
            values.AddRange(rows.SelectMany(r => r));
        }
        else if (sortMode == SqlLogicScript.SortRows)
        {
            values.Sort(StringComparer.Ordinal);
        }
    }

    private string? UsesRefusedObject(string sql) =>
        _refusedObjects.FirstOrDefault(o => SqlLogicSql.Mentions(sql, o.Key)) is { Key: not null } o
            ? $"uses {o.Key}, whose CREATE was refused by design: {o.Value}"
            : null;

    private SqlLogicOutcome Outcome(SqlLogicStatement record, SqlLogicVerdict verdict, string detail = "") => new(_file, record.Line, verdict, record.Sql, detail);

    private SqlLogicOutcome Outcome(SqlLogicQuery record, SqlLogicVerdict verdict, string detail = "") => new(_file, record.Line, verdict, record.Sql, detail);

    private static string Show(IReadOnlyList<string> lines) => lines.Count == 0
        ? "(no values)"
        : string.Join(" | ", lines.Take(ShownLines)) + (lines.Count > ShownLines ? $" | … ({lines.Count} values)" : "");
}

using System.Globalization;
using System.Text;

namespace OrleansShards.Tests.SqlLogic;

/// <summary>Text for the test output: totals, refusals by reason, the first failures.</summary>
internal static class SqlLogicReport
{
    public static string Totals(IReadOnlyCollection<SqlLogicFileResult> results) => string.Create(CultureInfo.InvariantCulture,
        $"{results.Count} scripts: {results.Sum(r => r.Run)} records run, {results.Sum(r => r.Passed)} passed, "
        + $"{results.Sum(r => r.Refused)} refused by design, {results.Sum(r => r.Failed)} failed, {results.Sum(r => r.Skipped)} skipped for SQLite, "
        + $"{results.Sum(r => r.SampledOut)} queries sampled out");

    /// <summary>Every script's line, the refusals grouped by reason, and the first <paramref name="failures"/> failures.</summary>
    public static string Describe(IReadOnlyCollection<SqlLogicFileResult> results, int failures = 20)
    {
        var text = new StringBuilder();
        foreach (var result in results.OrderBy(r => r.File, StringComparer.Ordinal))
        {
            text.AppendLine(result.ToString());
        }

        text.AppendLine(Totals(results));
        var refusals = results.SelectMany(r => r.NotPassed).Where(o => o.Verdict == SqlLogicVerdict.RefusedByDesign).ToList();
        foreach (var group in refusals.GroupBy(o => o.Detail, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"refused by design ×{group.Count()}: {group.Key} — at ")
                .AppendJoin(", ", group.Select(o => $"{o.File}:{o.Line}"))
                .AppendLine();
        }

        foreach (var note in results.OrderBy(r => r.File, StringComparer.Ordinal).SelectMany(r => r.ErrorsReadAsNoRows))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"passed, SQLite's error read as no rows (as the C runner reads a failing sqlite3_step): {note}");
        }

        var failed = results.OrderBy(r => r.File, StringComparer.Ordinal).SelectMany(r => r.NotPassed).Where(o => o.Verdict == SqlLogicVerdict.Failed).ToList();
        if (failed.Count > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"first {Math.Min(failures, failed.Count)} of {failed.Count} failures:");
            foreach (var outcome in failed.Take(failures))
            {
                text.AppendLine(outcome.ToString());
            }
        }

        return text.ToString();
    }
}

using System.Globalization;
using System.Text.RegularExpressions;

namespace OrleansShards.Tests.Silo;

/// <summary>A strict parser of Prometheus text 0.0.4 for assertions on <c>/metrics</c>.</summary>
public static partial class PrometheusText
{
    // One sample line: name, optional {labels}, value.
    [GeneratedRegex("""^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\\\|\\"|\\n|[^"\\\n])*",?)*\})? (\+Inf|-Inf|NaN|-?[0-9.eE+-]+)$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$""")]
    private static partial Regex CommentLine();

    [GeneratedRegex("le=\"([^\"]+)\"")]
    private static partial Regex LeLabel();

    /// <summary>Parses exposition text strictly: every line is a HELP/TYPE comment or a valid sample.</summary>
    public static List<(string Name, string Labels, double Value)> Parse(string text)
    {
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var samples = new List<(string, string, double)>();
        var typed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in text.TrimEnd('\n').Split('\n'))
        {
            var comment = CommentLine().Match(line);
            if (comment.Success)
            {
                if (comment.Groups[1].Value == "TYPE")
                {
                    Assert.Contains(comment.Groups[3].Value, new[] { "counter", "gauge", "histogram", "summary", "untyped" });
                    Assert.True(typed.Add(comment.Groups[2].Value), "TYPE given twice for " + comment.Groups[2].Value);
                }

                continue;
            }

            var sample = SampleLine().Match(line);
            Assert.True(sample.Success, "not a Prometheus sample line: " + line);
            samples.Add((sample.Groups[1].Value, sample.Groups[2].Value, ParseValue(sample.Groups[5].Value)));
        }

        return samples;
    }

    /// <summary>The <c>le</c> bound of a histogram bucket's labels.</summary>
    public static double Le(string labels)
    {
        var match = LeLabel().Match(labels);
        Assert.True(match.Success, "bucket without le: " + labels);
        return ParseValue(match.Groups[1].Value);
    }

    private static double ParseValue(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };
}

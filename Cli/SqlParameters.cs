using System.CommandLine;
using System.Text.Json;
using OrleansShards.Cli.Output;

namespace OrleansShards.Cli;

/// <summary>
/// <c>--param</c>/<c>-p</c>, repeatable, one per <c>?</c> in order. A value that is JSON is read as the API
/// reads it (<c>42</c> INTEGER, <c>4.5</c> REAL, <c>null</c> NULL, <c>"42"</c> TEXT, <c>{"$blob":"AQI="}</c>
/// BLOB); anything else is TEXT as written (<c>-p alice</c>).
/// </summary>
internal static class SqlParameters
{
    public static Option<string[]> CreateOption() => new("--param", "-p")
    {
        Description = "A ? parameter value, repeat in order: JSON (42, 4.5, null, \"42\", {\"$blob\":\"...\"}) or plain text",
        Arity = ArgumentArity.ZeroOrMore,
    };

    public static IReadOnlyList<SqlValue>? Parse(string[]? values)
    {
        if (values is not { Length: > 0 })
        {
            return null;
        }

        var parsed = new SqlValue[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            parsed[i] = ParseOne(values[i]);
        }

        return parsed;
    }

    private static SqlValue ParseOne(string text)
    {
        try
        {
            return JsonSerializer.Deserialize(text, CliJsonContext.Default.SqlValue);
        }
        catch (JsonException)
        {
            return SqlValue.FromText(text);
        }
    }
}

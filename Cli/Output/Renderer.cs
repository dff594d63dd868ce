using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Spectre.Console;

namespace OrleansShards.Cli.Output;

/// <summary>Prints answers: rows as Spectre tables and figures as text, or JSON with <c>--json</c>.</summary>
internal static class Renderer
{
    public static void Json<T>(CliContext context, T value, JsonTypeInfo<T> typeInfo) =>
        context.Output.WriteLine(JsonSerializer.Serialize(value, typeInfo));

    public static void Rows(CliContext context, IReadOnlyList<string> columns, IReadOnlyList<SqlValue[]> rows)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(new Text(column)));
        }

        foreach (var row in rows)
        {
            table.AddRow(row.Select(Cell));
        }

        context.Console.Write(table);
    }

    public static void Line(CliContext context, string text) => context.Console.WriteLine(text);

    public static void Figures(CliContext context, IEnumerable<(string Name, string Value)> figures)
    {
        var grid = new Grid().AddColumn().AddColumn();
        foreach (var (name, value) in figures)
        {
            grid.AddRow(new Text(name), new Text(value));
        }

        context.Console.Write(grid);
    }

    public static string Count(long n, string noun) =>
        n.ToString(CultureInfo.InvariantCulture) + " " + noun + (n == 1 ? string.Empty : "s");

    private static Text Cell(SqlValue value) => value.IsNull ? new Text("NULL", new Style(decoration: Decoration.Dim)) : new Text(value.ToString());
}

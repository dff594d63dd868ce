using Spectre.Console;

namespace OrleansShards.Cli;

/// <summary>Where a run of the tool reads and writes, and its environment: the real console, or test doubles.</summary>
internal sealed class CliContext
{
    public CliContext(TextWriter output, TextWriter error, TextReader input, Func<string, string?> environment, IAnsiConsole console)
    {
        Output = output;
        Error = error;
        Input = input;
        Environment = environment;
        Console = console;
    }

    /// <summary>Standard output: JSON (<c>--json</c>) and plain results.</summary>
    public TextWriter Output { get; }

    /// <summary>Standard error: error messages.</summary>
    public TextWriter Error { get; }

    /// <summary>Standard input: <c>batch</c> reads statements here when no file is given.</summary>
    public TextReader Input { get; }

    /// <summary>Environment variables (<c>SHARDS_URL</c>, <c>SHARDS_API_KEY</c>, <c>SHARDS_TENANT</c>).</summary>
    public Func<string, string?> Environment { get; }

    /// <summary>Tables, spinners and markup; writes to <see cref="Output"/>.</summary>
    public IAnsiConsole Console { get; }

    /// <summary>The process's console; when standard output is redirected (a pipe, a file) it writes plain text: no ANSI codes, no animation.</summary>
    public static CliContext FromConsole() => System.Console.IsOutputRedirected
        ? ForRedirectedOutput(System.Console.Out, System.Console.Error, System.Console.In, System.Environment.GetEnvironmentVariable)
        : new(System.Console.Out, System.Console.Error, System.Console.In, System.Environment.GetEnvironmentVariable, AnsiConsole.Console);

    /// <summary>A context whose output is not a terminal: plain lines, no escape codes, no spinner or progress animation.</summary>
    public static CliContext ForRedirectedOutput(TextWriter output, TextWriter error, TextReader input, Func<string, string?> environment)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        return new CliContext(output, error, input, environment, console);
    }

    /// <summary>True when the console may animate (spinners, progress bars): an interactive terminal that understands ANSI.</summary>
    public bool Animates => Console.Profile.Capabilities.Interactive && Console.Profile.Capabilities.Ansi;

    /// <summary>A context writing plain text (no colors, no animation, fixed width) into writers, for tests.</summary>
    public static CliContext ForWriters(TextWriter output, TextWriter error, TextReader? input = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 240;
        return new CliContext(output, error, input ?? TextReader.Null, name => environment?.GetValueOrDefault(name), console);
    }
}

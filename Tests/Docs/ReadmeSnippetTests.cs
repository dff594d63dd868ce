using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using OrleansShards.Client;
using OrleansShards.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansShards.Tests.Docs;

/// <summary>
/// The README's .NET client snippet (the ```csharp block after <c>&lt;!-- readme-snippet: client --&gt;</c>) as a
/// user copies it into the <c>Program.cs</c> of <c>dotnet new console</c>: compiled with Roslyn as a console
/// program with the SDK's implicit usings, against the assemblies of this test process, then run against a
/// fresh silo (its address passed as <c>--SHARDS_URL</c>, which the snippet reads).
/// </summary>
public sealed class ReadmeSnippetTests(ITestOutputHelper output)
{
    private const string Marker = "<!-- readme-snippet: client";

    // What Microsoft.NET.Sdk adds with <ImplicitUsings>enable</ImplicitUsings> (the console template's default).
    private const string ImplicitUsings = """
        global using global::System;
        global using global::System.Collections.Generic;
        global using global::System.IO;
        global using global::System.Linq;
        global using global::System.Net.Http;
        global using global::System.Threading;
        global using global::System.Threading.Tasks;
        """;

    [Fact]
    public void Client_snippet_compiles_as_written()
    {
        var (_, diagnostics) = Compile(ClientSnippet());
        var errors = diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        var warnings = diagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning).ToList();
        foreach (var d in diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning))
        {
            output.WriteLine(d.ToString());
        }

        Assert.True(errors.Count == 0, "the README's client snippet does not compile:\n" + string.Join("\n", errors));
        Assert.True(warnings.Count == 0, "the README's client snippet compiles with warnings:\n" + string.Join("\n", warnings));
    }

    [Fact]
    public async Task Client_snippet_runs_against_a_fresh_silo()
    {
        var (image, diagnostics) = Compile(ClientSnippet());
        Assert.True(image is not null, "the README's client snippet does not compile:\n" + string.Join("\n", diagnostics));

        var silo = new KestrelSilo();
        await silo.InitializeAsync();
        try
        {
            var assembly = new AssemblyLoadContext("readme-snippet").LoadFromStream(new MemoryStream(image));
            var main = assembly.GetType("Program")?.GetMethod("<Main>$", BindingFlags.NonPublic | BindingFlags.Static)
                ?? throw new InvalidOperationException("the snippet has no async top-level entry point");
            await (Task)main.Invoke(null, [new[] { "--SHARDS_URL", silo.Url.AbsoluteUri }])!;

            // The insert landed once; the second one was the ConflictUnique the snippet catches.
            var rows = await silo.Grains.GetGrain<ITableShard>("acme:items")
                .QueryAsync(new QueryRequest("SELECT qty FROM items WHERE name = 'plum'"));
            Assert.Equal(5, Assert.Single(rows.Rows)[0].AsInteger);
        }
        finally
        {
            await silo.DisposeAsync();
        }
    }

    private static string ClientSnippet()
    {
        var readme = File.ReadAllText(Path.Combine(ReadmeTests.RepositoryRoot(), "README.md"));
        var lines = readme.Split('\n');
        var at = Array.FindIndex(lines, l => l.TrimStart().StartsWith(Marker, StringComparison.Ordinal));
        Assert.True(at >= 0, "README has no " + Marker + " marker");
        var open = at + 1;
        while (open < lines.Length && lines[open].Trim().Length == 0)
        {
            open++;
        }

        Assert.True(open < lines.Length && lines[open].Trim() == "```csharp", $"README line {at + 1}: the marker must precede a ```csharp block.");
        var body = new StringBuilder();
        for (var i = open + 1; i < lines.Length && lines[i].Trim() != "```"; i++)
        {
            body.Append(lines[i].TrimEnd('\r')).Append('\n');
        }

        return body.ToString();
    }

    /// <summary>Compiles <paramref name="program"/> as a console app; the image is null when there are errors.</summary>
    private static (byte[]? Image, IReadOnlyList<Diagnostic> Diagnostics) Compile(string program)
    {
        var parse = CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create(
            "ReadmeSnippet",
            [CSharpSyntaxTree.ParseText(ImplicitUsings, parse, "GlobalUsings.g.cs"), CSharpSyntaxTree.ParseText(program, parse, "Program.cs")],
            References(),
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var emit = compilation.Emit(image);
        return (emit.Success ? image.ToArray() : null, emit.Diagnostics);
    }

    /// <summary>The framework and package assemblies of this process (trusted platform assemblies) plus the client's.</summary>
    private static List<MetadataReference> References()
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append(typeof(ShardsClient).Assembly.Location)
            .Append(typeof(ShardException).Assembly.Location)
            .Append(typeof(Microsoft.Extensions.Hosting.Host).Assembly.Location);
        return paths
            .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .DistinctBy(Path.GetFileName, StringComparer.OrdinalIgnoreCase)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToList();
    }
}

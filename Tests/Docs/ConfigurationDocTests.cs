using System.Collections;
using System.Reflection;
using OrleansShards.Client;
using OrleansShards.Grains.Hosting;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Tests.Docs;

/// <summary>
/// docs/configuration.md lists every option: every public <c>*Options</c> class of the silo, grain and client assemblies
/// (found by reflection, so an options class or property added later is caught) has a section whose heading names it,
/// and each settable property (and each collection) of the class is a row of that section's tables.
/// </summary>
public sealed class ConfigurationDocTests
{
    private static readonly Assembly[] Assemblies =
    [
        typeof(ShardsSiloOptions).Assembly,
        typeof(TableShardOptions).Assembly,
        typeof(ShardsClientOptions).Assembly,
        typeof(ShardException).Assembly,
    ];

    public static TheoryData<string> OptionsTypes()
    {
        var data = new TheoryData<string>();
        foreach (var type in Discover())
        {
            data.Add(type.FullName!);
        }

        return data;
    }

    [Fact]
    public void Discovery_finds_the_options_classes_of_every_assembly()
    {
        var names = Discover().Select(t => t.Name).ToList();
        Assert.Contains(nameof(ShardsSiloOptions), names);
        Assert.Contains(nameof(TableShardOptions), names);
        Assert.Contains(nameof(ShardsClientOptions), names);
        Assert.True(names.Count >= 10, "options classes found: " + string.Join(", ", names));
    }

    [Theory]
    [MemberData(nameof(OptionsTypes))]
    public void Configuration_doc_lists_every_option_of(string typeName)
    {
        var type = Discover().Single(t => t.FullName == typeName);
        var section = Section(File.ReadAllLines(Path.Combine(ReadmeTests.RepositoryRoot(), "docs", "configuration.md")), type.Name);
        var missing = Options(type).Where(p => !section.Any(line => line.StartsWith($"| `{p.Name}` |", StringComparison.Ordinal))).Select(p => p.Name).ToList();
        Assert.True(missing.Count == 0, $"docs/configuration.md, section of `{type.Name}`, has no row for: {string.Join(", ", missing)}");
    }

    private static IEnumerable<Type> Discover() => Assemblies
        .SelectMany(a => a.GetExportedTypes())
        .Where(t => t is { IsClass: true, IsAbstract: false, IsNested: false } && t.Name.EndsWith("Options", StringComparison.Ordinal))
        .Distinct()
        .OrderBy(t => t.FullName, StringComparer.Ordinal);

    /// <summary>Properties a user sets: public with a public setter, or a collection filled through its getter.</summary>
    private static IEnumerable<PropertyInfo> Options(Type type) => type
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.GetIndexParameters().Length == 0
            && (p.SetMethod is { IsPublic: true } || (p.PropertyType != typeof(string) && typeof(IEnumerable).IsAssignableFrom(p.PropertyType))));

    /// <summary>The lines after the heading that names <c>`typeName`</c>, up to the next heading.</summary>
    private static List<string> Section(string[] lines, string typeName)
    {
        var start = Array.FindIndex(lines, l => l.StartsWith('#') && l.Contains($"`{typeName}`", StringComparison.Ordinal));
        Assert.True(start >= 0, $"docs/configuration.md has no heading naming `{typeName}`");
        return lines.Skip(start + 1).TakeWhile(l => !l.StartsWith('#')).ToList();
    }
}

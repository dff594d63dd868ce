using OrleansShards.Tests.Docs;

namespace OrleansShards.Tests.SqlLogic;

/// <summary>Where the sqllogictest scripts are: a subset in the repository, the whole corpus next to it when present.</summary>
internal static class SqlLogicCorpus
{
    /// <summary><c>Tests/SqlLogic/corpus</c>: select1.test and evidence/*.test, unmodified (see its SOURCE.md).</summary>
    public static string InRepository { get; } = Path.Combine(ReadmeTests.RepositoryRoot(), "Tests", "SqlLogic", "corpus");

    /// <summary>The whole corpus: <c>../shared/sqllogictest</c> from the repository root (absent in a clean clone).</summary>
    public static string Shared { get; } = Path.GetFullPath(Path.Combine(ReadmeTests.RepositoryRoot(), "..", "shared", "sqllogictest"));

    /// <summary>The scripts (<c>*.test</c>) under <paramref name="root"/>, as '/'-separated paths relative to it, in ordinal order.</summary>
    public static IReadOnlyList<string> Scripts(string root) =>
    [
        .. Directory.EnumerateFiles(root, "*.test", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal),
    ];
}

/// <summary>A fact that runs only where the whole corpus is (<see cref="SqlLogicCorpus.Shared"/>); skipped, saying so, elsewhere.</summary>
internal sealed class SqlLogicCorpusFactAttribute : FactAttribute
{
    public SqlLogicCorpusFactAttribute()
    {
        if (!Directory.Exists(SqlLogicCorpus.Shared))
        {
            Skip = $"The sqllogictest corpus is not at {SqlLogicCorpus.Shared} (../shared/sqllogictest from the repository root); "
                + "only the subset in Tests/SqlLogic/corpus runs.";
        }
    }
}

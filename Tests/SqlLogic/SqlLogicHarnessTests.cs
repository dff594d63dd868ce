namespace OrleansShards.Tests.SqlLogic;

/// <summary>
/// The harness alone, without the store: the in-repository scripts against plain SQLite in process (the library the
/// store bundles) pass with no failure and no refusal, so a failure over HTTP is the store's, not the harness's.
/// </summary>
public sealed class SqlLogicHarnessTests
{
    public static TheoryData<string> Scripts => [.. SqlLogicCorpus.Scripts(SqlLogicCorpus.InRepository)];

    [Theory]
    [MemberData(nameof(Scripts))]
    public async Task Script_passes_on_plain_SQLite(string script)
    {
        using var engine = new SqlLogicSqliteEngine();
        var text = await File.ReadAllTextAsync(Path.Combine(SqlLogicCorpus.InRepository, script));

        var result = await SqlLogicRunner.RunAsync(script, text, engine);

        Assert.True(result.Run > 0, $"{script} ran no record");
        Assert.True(result.Failed + result.Refused == 0, SqlLogicReport.Describe([result]));
    }
}

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

/// <summary>The corpus's short form: a sampled run sends every statement and the first query, then every n-th.</summary>
public sealed class SqlLogicSampleTests
{
    [Fact]
    public async Task A_sampled_run_sends_every_statement_and_one_query_in_the_stride()
    {
        const string script = "select1.test";
        const int stride = 4;
        var text = await File.ReadAllTextAsync(Path.Combine(SqlLogicCorpus.InRepository, script));
        var records = SqlLogicScript.Parse(text).Where(r => r.RunsOn(SqlLogicRunner.EngineName)).ToList();
        var statements = records.OfType<SqlLogicStatement>().Count();
        var queries = records.OfType<SqlLogicQuery>().Count();
        using var full = new SqlLogicSqliteEngine();
        using var sampled = new SqlLogicSqliteEngine();

        var all = await SqlLogicRunner.RunAsync(script, text, full);
        var sample = await SqlLogicRunner.RunAsync(script, text, sampled, queryStride: stride);

        Assert.Equal(statements + queries, all.Run);
        Assert.Equal(0, all.SampledOut);
        var sent = (queries + stride - 1) / stride;
        Assert.Equal(statements + sent, sample.Run);
        Assert.Equal(queries - sent, sample.SampledOut);
        Assert.Equal(sample.Run, sample.Passed);
    }
}

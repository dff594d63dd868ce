using Xunit.Abstractions;

namespace OrleansShards.Tests.SqlLogic;

/// <summary>
/// SQLite's own sqllogictest scripts (select1.test and evidence/*.test, in <c>Tests/SqlLogic/corpus</c>) through the HTTP API
/// of a real silo: every statement and query of a script in one shard of a fresh tenant, every answer compared with
/// SQLite's. A script fails on any mismatch; statements the store refuses by design are listed, never counted as passed.
/// </summary>
public sealed class SqlLogicTests(SqlLogicSilo silo, ITestOutputHelper output) : IClassFixture<SqlLogicSilo>
{
    public static TheoryData<string> Scripts => [.. SqlLogicCorpus.Scripts(SqlLogicCorpus.InRepository)];

    [Theory]
    [MemberData(nameof(Scripts))]
    public async Task Script_answers_as_SQLite_over_HTTP(string script)
    {
        var result = await silo.RunAsync(SqlLogicCorpus.InRepository, script);

        var report = SqlLogicReport.Describe([result]);
        output.WriteLine(report);
        Assert.True(result.Run > 0, $"{script} ran no record");
        Assert.True(result.Failed == 0, report);
    }
}

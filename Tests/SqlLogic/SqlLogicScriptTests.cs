namespace OrleansShards.Tests.SqlLogic;

/// <summary><see cref="SqlLogicScript"/> reads records as sqllogictest's C runner does.</summary>
public sealed class SqlLogicScriptTests
{
    [Fact]
    public void Parse_reads_every_record_kind_with_conditions_comments_and_CRLF()
    {
        const string script = "# a comment\r\nhash-threshold 4\r\n\r\n"
            + "statement ok\r\nCREATE TABLE t1(a INTEGER, b TEXT)\r\n   \r\n"
            + "skipif mysql\nonlyif sqlite\nstatement error\nINSERT INTO t1\n# inside a record\nVALUES(1)\n\n"
            + "query IT rowsort label-1\nSELECT a, b\n  FROM t1\n----\n1\n(empty)\n\n"
            + "query R nosort\nSELECT 1.0 WHERE 0\n----\n\n"
            + "query I\nSELECT 1\n\n"
            + "halt\n";

        var records = SqlLogicScript.Parse(script);

        Assert.Collection(
            records,
            r => Assert.Equal((2, 4, 0), (r.Line, ((SqlLogicHashThreshold)r).Threshold, r.Conditions.Count)),
            r => Assert.Equal(("CREATE TABLE t1(a INTEGER, b TEXT)", false, 4), (((SqlLogicStatement)r).Sql, ((SqlLogicStatement)r).ExpectError, r.Line)),
            r =>
            {
                var statement = Assert.IsType<SqlLogicStatement>(r);
                Assert.Equal(("INSERT INTO t1\nVALUES(1)", true, 9), (statement.Sql, statement.ExpectError, statement.Line));
                Assert.Equal([new SqlLogicCondition(true, "mysql"), new SqlLogicCondition(false, "sqlite")], statement.Conditions);
                Assert.True(statement.RunsOn("sqlite"));
                Assert.False(statement.RunsOn("mysql"));
            },
            r =>
            {
                var query = Assert.IsType<SqlLogicQuery>(r);
                Assert.Equal(("IT", "rowsort", "label-1", "SELECT a, b\n  FROM t1"), (query.Types, query.SortMode, query.Label, query.Sql));
                Assert.Equal(["1", "(empty)"], query.Expected);
            },
            r => Assert.Equal(("nosort", 0), (((SqlLogicQuery)r).SortMode, ((SqlLogicQuery)r).Expected.Count)),
            r => Assert.Equal(("SELECT 1", "nosort", null), (((SqlLogicQuery)r).Sql, ((SqlLogicQuery)r).SortMode, ((SqlLogicQuery)r).Label)),
            r => Assert.IsType<SqlLogicHalt>(r));
    }

    [Theory]
    [InlineData("query X nosort\nSELECT 1\n")]
    [InlineData("query I sideways\nSELECT 1\n")]
    [InlineData("statement maybe\nSELECT 1\n")]
    [InlineData("frobnicate\n")]
    public void Parse_refuses_what_the_C_runner_refuses(string script)
    {
        Assert.Throws<FormatException>(() => SqlLogicScript.Parse(script));
    }

    [Fact]
    public void Split_ends_statements_where_SQLite_says_they_are_complete()
    {
        Assert.Equal(
            ["INSERT INTO t1 VALUES(-1,'a;b');", "CREATE TRIGGER r AFTER INSERT ON t1 BEGIN SELECT 1; SELECT 2; END;", "DROP INDEX t1i1;"],
            SqlLogicSql.Split("INSERT INTO t1 VALUES(-1,'a;b');\nCREATE TRIGGER r AFTER INSERT ON t1 BEGIN SELECT 1; SELECT 2; END;\nDROP INDEX t1i1;\n"));
        Assert.Equal(["SELECT 1"], SqlLogicSql.Split("  SELECT 1  "));
    }

    [Theory]
    [InlineData("CREATE TEMP VIEW view2 AS SELECT x FROM t1", "view2")]
    [InlineData("CREATE TEMPORARY VIEW view3 AS SELECT 1", "view3")]
    [InlineData("CREATE VIEW IF NOT EXISTS v AS SELECT 1", "v")]
    [InlineData("create unique index t1i1 ON t1(x)", "t1i1")]
    [InlineData("DROP VIEW v", null)]
    public void CreatedName_names_the_object_a_CREATE_makes(string sql, string? name)
    {
        Assert.Equal(name, SqlLogicSql.CreatedName(sql));
    }

    [Theory]
    [InlineData("CREATE TEMP VIEW view2 AS SELECT 1", true)]
    [InlineData("PRAGMA synchronous=OFF", true)]
    [InlineData("BEGIN TRANSACTION", true)]
    [InlineData("CREATE TABLE _hidden(x)", true)]
    [InlineData("SELECT '_not_a_name' FROM t1", false)]
    [InlineData("SELECT col_1 FROM tab_0", false)]
    [InlineData("CREATE TABLE t1(x)", false)]
    public void RefusalReason_names_the_statements_the_store_refuses_by_design(string sql, bool refused)
    {
        Assert.Equal(refused, SqlLogicSql.RefusalReason(sql) is not null);
    }
}

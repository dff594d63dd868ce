using Microsoft.Data.Sqlite;
using OrleansShards.Grains.Storage.Native;
using static OrleansShards.Tests.Storage.Native.NativeTestDatabase;

namespace OrleansShards.Tests.Storage.Native;

public sealed class SqliteAuthorizerTests : IDisposable
{
    private readonly NativeTestDatabase _db = new();
    private readonly SqliteConnection _connection;

    public SqliteAuthorizerTests()
    {
        _connection = _db.Open();
        Execute(_connection, "CREATE TABLE t(id INTEGER PRIMARY KEY, secret TEXT); INSERT INTO t VALUES (1, 's')");
    }

    public void Dispose() => _db.Dispose();

    [Fact]
    public void Install_passes_action_and_arguments_to_the_policy()
    {
        var policy = new RecordingPolicy();
        using var authorizer = SqliteAuthorizer.Install(_connection, policy);

        Scalar(_connection, "SELECT secret FROM t");

        Assert.Contains("Read t 'secret' db=main", policy.Seen);
        Assert.Contains("Select", policy.Seen);
    }

    [Fact]
    public void Deny_fails_the_statement_with_SQLITE_AUTH_and_records_the_action()
    {
        using var authorizer = SqliteAuthorizer.Install(_connection, new RecordingPolicy { DenyReadOf = "secret" });

        var error = Assert.Throws<SqliteException>(() => Scalar(_connection, "SELECT secret FROM t"));

        Assert.Equal(23, error.SqliteErrorCode); // SQLITE_AUTH
        Assert.Equal("Read t 'secret'", authorizer.TakeLastDenied());
        Assert.Null(authorizer.LastDenied);
    }

    [Fact]
    public void Ignore_reads_null_when_the_policy_ignores_a_column()
    {
        using var authorizer = SqliteAuthorizer.Install(_connection, new RecordingPolicy { IgnoreReadOf = "secret" });

        Assert.Equal(DBNull.Value, Scalar(_connection, "SELECT secret FROM t"));
        Assert.Equal(1L, Scalar(_connection, "SELECT id FROM t"));
    }

    [Fact]
    public void Suspend_allows_everything_until_the_scope_ends_and_scopes_nest()
    {
        using var authorizer = SqliteAuthorizer.Install(_connection, new RecordingPolicy { DenyReadOf = "secret" });

        using (authorizer.Suspend())
        {
            using (authorizer.Suspend())
            {
                Assert.False(authorizer.Enabled);
            }

            Assert.False(authorizer.Enabled);
            Assert.Equal("s", Scalar(_connection, "SELECT secret FROM t"));
        }

        Assert.True(authorizer.Enabled);
        Assert.Throws<SqliteException>(() => Scalar(_connection, "SELECT secret FROM t"));
    }

    [Fact]
    public void Dispose_removes_the_authorizer_from_the_connection()
    {
        var authorizer = SqliteAuthorizer.Install(_connection, new RecordingPolicy { DenyReadOf = "secret" });
        authorizer.Dispose();
        authorizer.Dispose();

        Assert.Equal("s", Scalar(_connection, "SELECT secret FROM t"));
    }

    [Fact]
    public void Authorize_denies_when_the_policy_throws()
    {
        using var authorizer = SqliteAuthorizer.Install(_connection, new RecordingPolicy { Throw = true });

        var error = Assert.Throws<SqliteException>(() => Scalar(_connection, "SELECT 1"));

        Assert.Equal(23, error.SqliteErrorCode);
    }

    [Fact]
    public void Dispose_is_safe_when_the_connection_was_closed_first()
    {
        var connection = _db.Open("other.db");
        var authorizer = SqliteAuthorizer.Install(connection, new RecordingPolicy());
        connection.Dispose();

        var error = Record.Exception(authorizer.Dispose);

        Assert.Null(error);
    }

    private sealed class RecordingPolicy : ISqliteAuthorizerPolicy
    {
        public List<string> Seen { get; } = [];

        public string? DenyReadOf { get; init; }

        public string? IgnoreReadOf { get; init; }

        public bool Throw { get; init; }

        public AuthorizerResult Authorize(in AuthorizerRequest request)
        {
            if (Throw)
            {
                throw new InvalidOperationException("policy bug");
            }

            Seen.Add(request.ToString() + (request.Database.IsNull ? string.Empty : " db=" + request.Database.ToString()));
            var column = request.Arg2.ToString();
            if (request.Action == AuthorizerAction.Read && column == DenyReadOf)
            {
                return AuthorizerResult.Deny;
            }

            return request.Action == AuthorizerAction.Read && column == IgnoreReadOf ? AuthorizerResult.Ignore : AuthorizerResult.Ok;
        }
    }
}

using System.Diagnostics;
using Microsoft.Data.Sqlite;
using OrleansShards.Grains.Storage.Native;
using static OrleansShards.Tests.Storage.Native.NativeTestDatabase;

namespace OrleansShards.Tests.Storage.Native;

public sealed class ProgressDeadlineTests : IDisposable
{
    private const int SQLITE_INTERRUPT = 9;
    private const string Forever = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) FROM c";
    private readonly NativeTestDatabase _db = new();
    private readonly SqliteConnection _connection;

    public ProgressDeadlineTests() => _connection = _db.Open();

    public void Dispose() => _db.Dispose();

    [Fact]
    public void Start_interrupts_an_endless_query_when_the_deadline_passes()
    {
        using var deadline = ProgressDeadline.Install(_connection);
        var watch = Stopwatch.StartNew();

        SqliteException error;
        using (deadline.Start(TimeSpan.FromMilliseconds(200)))
        {
            error = Assert.Throws<SqliteException>(() => Scalar(_connection, Forever));
        }

        Assert.Equal(SQLITE_INTERRUPT, error.SqliteErrorCode);
        Assert.Equal(InterruptReason.Deadline, deadline.LastInterrupt);
        Assert.InRange(watch.ElapsedMilliseconds, 150, 5_000);
        Assert.Equal(ShardErrorCode.Timeout, SqliteErrors.ToShardException(error, deadline.LastInterrupt).Code);
    }

    [Fact]
    public void Start_interrupts_exactly_when_the_fake_clock_reaches_the_deadline()
    {
        // Each read advances 1 s: Start reads "now" (0), checks read 1 s, 2 s, 3 s → interrupt at 3 s.
        var clock = new SteppingTimeProvider(TimeSpan.TicksPerSecond);
        using var deadline = ProgressDeadline.Install(_connection, instructions: 1_000, clock);

        using (deadline.Start(TimeSpan.FromSeconds(3)))
        {
            Assert.Throws<SqliteException>(() => Scalar(_connection, Forever));
        }

        Assert.Equal(4, clock.Reads);
        Assert.Equal(InterruptReason.Deadline, deadline.LastInterrupt);
    }

    [Fact]
    public void Start_lets_a_statement_finish_when_it_is_within_the_deadline()
    {
        using var deadline = ProgressDeadline.Install(_connection, instructions: 100);

        using (deadline.Start(TimeSpan.FromSeconds(30)))
        {
            Assert.Equal(5050L, Scalar(_connection, "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 100) SELECT sum(n) FROM c"));
        }

        Assert.Equal(InterruptReason.None, deadline.LastInterrupt);
    }

    [Fact]
    public void Start_interrupts_when_the_cancellation_token_is_signalled()
    {
        using var deadline = ProgressDeadline.Install(_connection);
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        SqliteException error;
        using (deadline.Start(Timeout.InfiniteTimeSpan, cancellation.Token))
        {
            error = Assert.Throws<SqliteException>(() => Scalar(_connection, Forever));
        }

        Assert.Equal(SQLITE_INTERRUPT, error.SqliteErrorCode);
        Assert.Equal(InterruptReason.Canceled, deadline.LastInterrupt);
    }

    [Fact]
    public void Scope_end_stops_bounding_statements_when_it_is_disposed()
    {
        var clock = new SteppingTimeProvider(TimeSpan.TicksPerSecond);
        using var deadline = ProgressDeadline.Install(_connection, instructions: 10, clock);
        using (deadline.Start(TimeSpan.Zero))
        {
        }

        var readsAfterScope = clock.Reads;
        Assert.Equal(5050L, Scalar(_connection, "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 100) SELECT sum(n) FROM c"));

        Assert.Equal(readsAfterScope, clock.Reads);
    }

    [Fact]
    public void Start_throws_when_a_scope_is_already_open()
    {
        using var deadline = ProgressDeadline.Install(_connection);
        using var scope = deadline.Start(TimeSpan.FromSeconds(1));

        Assert.Throws<InvalidOperationException>(() => deadline.Start(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Dispose_removes_the_handler_so_long_statements_run_again()
    {
        var clock = new SteppingTimeProvider(TimeSpan.TicksPerSecond);
        var deadline = ProgressDeadline.Install(_connection, instructions: 10, clock);
        var scope = deadline.Start(TimeSpan.Zero);
        deadline.Dispose();

        Assert.Equal(5050L, Scalar(_connection, "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 100) SELECT sum(n) FROM c"));
        Assert.Equal(1, clock.Reads);
        scope.Dispose();
    }
}

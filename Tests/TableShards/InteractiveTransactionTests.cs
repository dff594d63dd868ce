using OrleansShards.Grains.TableShards;

namespace OrleansShards.Tests.TableShards;

public sealed class InteractiveTransactionTests
{
    [Fact]
    public void TryAdd_refuses_a_statement_when_commit_already_sealed_the_transaction()
    {
        // Regression: a statement queued while COMMIT ran was answered "queued" and silently dropped.
        var transaction = new InteractiveTransaction("tx", DateTimeOffset.UnixEpoch);
        Assert.True(transaction.TryAdd(new Statement("INSERT INTO t VALUES (1)")));

        var committed = transaction.Seal();

        Assert.False(transaction.TryAdd(new Statement("INSERT INTO t VALUES (2)")));
        Assert.Single(committed);
        Assert.Equal(1, transaction.Count);
    }
}

/// <summary>The open transactions of one shard (<see cref="OpenTransactions"/>) as a plain class, on a fake clock.</summary>
public sealed class OpenTransactionsTests
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _time = new(DateTimeOffset.UnixEpoch);
    private readonly OpenTransactions _open;

    public OpenTransactionsTests() => _open = new OpenTransactions(_time, TimeSpan.FromSeconds(30), maxStatements: 3);

    private static Statement Insert(int i) => new("INSERT INTO t VALUES (?)", [SqlValue.FromInteger(i)]);

    private void Queue(string id, Statement statement) => _open.Queue(_open.ForQueue(id, statement), statement, noGrowth: false);

    [Fact]
    public void A_transaction_queues_until_it_ends_and_then_is_not_found()
    {
        var transaction = _open.Begin();
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(30), transaction.ExpiresAt);
        Queue(transaction.Id, Insert(1));
        Queue(transaction.Id, Insert(2));

        var ended = _open.TryEnd(transaction.Id);
        Assert.Same(transaction, ended);
        Assert.Equal(2, ended!.Seal().Count);
        Assert.Null(_open.TryEnd(transaction.Id));
        var error = Assert.Throws<ShardException>(() => Queue(transaction.Id, Insert(3)));
        Assert.Equal(ShardErrorCode.TxNotFound, error.Code);
        Assert.Contains("unknown, expired, or already ended", error.Message, StringComparison.Ordinal);
        Assert.True(_open.IsEmpty);
    }

    [Fact]
    public void An_expired_transaction_cannot_be_queued_into_or_committed_and_is_swept_by_the_next_begin()
    {
        var old = _open.Begin();
        _time.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal(ShardErrorCode.TxNotFound, Assert.Throws<ShardException>(() => Queue(old.Id, Insert(1))).Code);
        var second = _open.Begin();
        Assert.Equal(1, _open.Count);
        Assert.Null(_open.TryEnd(old.Id));
        Assert.NotNull(_open.TryEnd(second.Id));
    }

    [Fact]
    public void A_statement_validated_while_the_transaction_ended_is_refused_not_dropped()
    {
        var transaction = _open.Begin();
        var statement = Insert(1);
        var forQueue = _open.ForQueue(transaction.Id, statement);

        // COMMIT (or a restore's abort) ends it while the statement is being validated on a reader.
        Assert.NotNull(_open.TryEnd(transaction.Id));

        Assert.Equal(ShardErrorCode.TxNotFound, Assert.Throws<ShardException>(() => _open.Queue(forQueue, statement, noGrowth: false)).Code);
        Assert.Empty(transaction.Seal());
    }

    [Fact]
    public void Statements_bytes_and_open_transactions_are_bounded()
    {
        var transaction = _open.Begin();
        for (var i = 0; i < 3; i++)
        {
            Queue(transaction.Id, Insert(i));
        }

        var tooMany = Assert.Throws<ShardException>(() => Queue(transaction.Id, Insert(4)));
        Assert.Equal(ShardErrorCode.PayloadTooLarge, tooMany.Code);

        // One statement whose value alone passes the per-transaction bound.
        var big = new Statement("INSERT INTO t VALUES (?)", [SqlValue.FromBlob(new byte[OpenTransactions.MaxTransactionBytes])]);
        Assert.Equal(ShardErrorCode.PayloadTooLarge, Assert.Throws<ShardException>(() => _open.ForQueue(_open.Begin().Id, big)).Code);

        // Four transactions each queuing 7.5 MiB fill the shard's 32 MiB bound: the fifth statement is OVERLOADED.
        var chunk = new Statement("INSERT INTO t VALUES (?)", [SqlValue.FromBlob(new byte[(int)(OpenTransactions.MaxTransactionBytes * 15 / 16)])]);
        for (var i = 0; i < 4; i++)
        {
            Queue(_open.Begin().Id, chunk);
        }

        Assert.Equal(ShardErrorCode.Overloaded, Assert.Throws<ShardException>(() => _open.ForQueue(_open.Begin().Id, chunk)).Code);

        _open.Clear();
        for (var i = 0; i < OpenTransactions.MaxOpen; i++)
        {
            _open.Begin();
        }

        Assert.Equal(ShardErrorCode.Overloaded, Assert.Throws<ShardException>(() => _open.Begin()).Code);
    }

    [Fact]
    public void An_aborted_transaction_says_why_until_it_would_have_expired()
    {
        var restored = _open.Begin();
        _open.AbortAll("a point-in-time restore of the shard");
        _time.Advance(TimeSpan.FromSeconds(10));
        var moved = _open.Begin();
        _open.AbortAll("the shard's move to silo 's2'");

        var restoreError = Assert.Throws<ShardException>(() => Queue(restored.Id, Insert(1)));
        Assert.Equal(ShardErrorCode.TxNotFound, restoreError.Code);
        Assert.Contains("aborted by a point-in-time restore", restoreError.Message, StringComparison.Ordinal);
        Assert.Null(_open.TryEnd(moved.Id));
        Assert.Contains("aborted by the shard's move to silo 's2'", _open.NotFound(moved.Id).Message, StringComparison.Ordinal);
        Assert.True(_open.IsEmpty);

        // Past the time the transaction would have expired, it is simply unknown.
        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.Contains("unknown, expired, or already ended", _open.NotFound(restored.Id).Message, StringComparison.Ordinal);
        Assert.Contains("aborted by the shard's move", _open.NotFound(moved.Id).Message, StringComparison.Ordinal);
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Contains("unknown, expired, or already ended", _open.NotFound(moved.Id).Message, StringComparison.Ordinal);
    }
}

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

using System.Collections.Concurrent;
using System.Reflection;
using OrleansShards.Grains.Sharding;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Tests.Sharding;

/// <summary>
/// The routing of a sharded table (<see cref="TableRouter"/>) as a plain class, without a silo: the shards are
/// recording fakes, so what is sent where, in which order and with which key check is seen directly.
/// </summary>
public sealed class TableRouterTests
{
    private static readonly ShardLayout HashLayout = new("l1", "tenant_id", null, ShardStrategies.Hash, 3, 0);
    private static readonly ShardLayout RoundRobinLayout = new("l2", "tenant_id", null, ShardStrategies.RoundRobin, 3, 0);

    private readonly List<string> _log = [];
    private readonly List<FakeShard> _shards = [];
    private readonly List<(IReadOnlyList<KeyValuePair<string, int>> Fresh, long Next)> _recorded = [];

    private TableRouter Create(ShardLayout layout, int maxRows = 1000, long maxBytes = 1 << 20, Func<Task>? record = null)
    {
        for (var i = 0; i < layout.Count; i++)
        {
            _shards.Add(FakeShard.Create(i, _log));
        }

        return new TableRouter(
            "items",
            new ShardAssigner(layout, router: null),
            i => _shards[i].Table,
            i => _shards[i].Host,
            async (fresh, next) =>
            {
                lock (_log)
                {
                    _log.Add($"record {string.Join(",", fresh.Select(f => f.Value))} next={next}");
                }

                _recorded.Add((fresh, next));
                await (record?.Invoke() ?? Task.CompletedTask);
            },
            maxRows,
            maxBytes);
    }

    [Fact]
    public async Task A_write_goes_to_the_shard_of_its_key_with_the_key_check_and_without_the_key()
    {
        var router = Create(HashLayout);
        var key = SqlValue.FromText("acme");
        var expected = new ShardAssigner(HashLayout, null).Assign(key);

        await router.MutateAsync(new MutationRequest("INSERT INTO items(tenant_id) VALUES ('acme')", ShardKey: key), CancellationToken.None);
        await router.BatchAsync(new BatchRequest([new Statement("DELETE FROM items")], ShardKey: key), CancellationToken.None);

        Assert.Equal([$"mutate {expected}", $"batch {expected}"], _log);
        var shard = _shards[expected];
        Assert.All(shard.Checks, c => Assert.Equal(new ShardKeyCheck("items", HashLayout, expected, key), c));
        Assert.Null(shard.Mutations.Single().ShardKey);
        Assert.Null(shard.Batches.Single().ShardKey);
    }

    [Fact]
    public async Task A_write_without_key_or_in_an_interactive_transaction_is_refused_and_sent_nowhere()
    {
        var router = Create(HashLayout);

        var noKey = await Assert.ThrowsAsync<ShardException>(() => router.MutateAsync(new MutationRequest("DELETE FROM items"), CancellationToken.None));
        var noKeyBatch = await Assert.ThrowsAsync<ShardException>(() => router.BatchAsync(new BatchRequest([new Statement("DELETE FROM items")]), CancellationToken.None));
        var transaction = await Assert.ThrowsAsync<ShardException>(() => router.MutateAsync(
            new MutationRequest("DELETE FROM items", TransactionId: "tx1", ShardKey: SqlValue.FromInteger(1)), CancellationToken.None));

        Assert.All([noKey, noKeyBatch, transaction], e => Assert.Equal(ShardErrorCode.InvalidArgument, e.Code));
        Assert.Contains("sharded by tenant_id", noKey.Message, StringComparison.Ordinal);
        Assert.Contains("interactive transactions", transaction.Message, StringComparison.Ordinal);
        Assert.Empty(_log);
    }

    [Fact]
    public async Task A_read_with_a_key_goes_to_one_shard_and_without_one_to_all_concatenated_in_shard_order_whatever_order_they_answer_in()
    {
        var router = Create(HashLayout);
        var key = SqlValue.FromInteger(42);
        var expected = new ShardAssigner(HashLayout, null).Assign(key);

        var one = await router.QueryAsync(new QueryRequest("SELECT * FROM items", ShardKey: key), CancellationToken.None);
        Assert.Equal([$"query {expected}"], _log);
        Assert.Equal(expected, one.Rows.Single()[0].AsInteger);

        // The shards answer last to first: the rows still come in shard order.
        foreach (var shard in _shards)
        {
            shard.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        var all = router.QueryAsync(new QueryRequest("SELECT * FROM items"), CancellationToken.None);
        for (var i = _shards.Count - 1; i >= 0; i--)
        {
            _shards[i].Gate!.SetResult();
            await Task.Yield();
        }

        var answer = await all;
        Assert.Equal([0L, 1L, 2L], answer.Rows.Select(r => r[0].AsInteger));
        Assert.Equal(3, answer.RowsRead);
        Assert.Equal("shards", answer.Meta.ServedBy);
        Assert.All(_shards, s => Assert.All(s.Queries, q => Assert.Null(q.ShardKey)));
    }

    [Fact]
    public async Task A_fan_out_past_the_result_cap_is_RESULT_TOO_LARGE_at_once_and_cancels_the_shards_still_reading()
    {
        var router = Create(HashLayout, maxRows: 1);
        _shards[2].Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Shards 0 and 1 answer a row each (2 > 1): the read fails without waiting for shard 2, whose read is canceled.
        var error = await Assert.ThrowsAsync<ShardException>(() => router.QueryAsync(new QueryRequest("SELECT * FROM items"), CancellationToken.None));

        Assert.Equal(ShardErrorCode.ResultTooLarge, error.Code);
        Assert.True(_shards[2].QueryTokens.Single().IsCancellationRequested);
    }

    [Fact]
    public async Task A_roundRobin_key_is_assigned_in_turn_and_recorded_before_its_write_is_sent_once()
    {
        var router = Create(RoundRobinLayout);

        await router.MutateAsync(new MutationRequest("INSERT", ShardKey: SqlValue.FromText("a")), CancellationToken.None);
        await router.MutateAsync(new MutationRequest("INSERT", ShardKey: SqlValue.FromText("b")), CancellationToken.None);
        await router.MutateAsync(new MutationRequest("INSERT", ShardKey: SqlValue.FromText("a")), CancellationToken.None);

        Assert.Equal(["record 0 next=1", "mutate 0", "record 1 next=2", "mutate 1", "mutate 0"], _log);

        // The integer 1 and the text '1' are different keys.
        await router.MutateAsync(new MutationRequest("INSERT", ShardKey: SqlValue.FromInteger(1)), CancellationToken.None);
        await router.MutateAsync(new MutationRequest("INSERT", ShardKey: SqlValue.FromText("1")), CancellationToken.None);
        Assert.Equal(["record 2 next=3", "mutate 2", "record 0 next=4", "mutate 0"], _log[5..]);
    }

    [Fact]
    public async Task A_roundRobin_write_whose_assignment_could_not_be_recorded_is_not_sent()
    {
        var router = Create(RoundRobinLayout, record: () => throw new ShardException(ShardErrorCode.CapacityExceeded, "disk full"));

        var error = await Assert.ThrowsAsync<ShardException>(() => router.MutateAsync(new MutationRequest("INSERT", ShardKey: SqlValue.FromText("a")), CancellationToken.None));

        Assert.Equal(ShardErrorCode.CapacityExceeded, error.Code);
        Assert.Equal(["record 0 next=1"], _log);
    }

    [Fact]
    public async Task DDL_is_checked_on_every_shard_and_the_base_before_any_file_changes_and_one_refusal_changes_none()
    {
        var router = Create(HashLayout);
        var baseChecked = 0;
        await router.ApplyDdlToShardsAsync(new DdlRequest("CREATE INDEX i ON items(v)"), () =>
        {
            lock (_log)
            {
                _log.Add("check base");
            }

            baseChecked++;
            return Task.CompletedTask;
        }, CancellationToken.None);
        Assert.Equal(["check 0", "check 1", "check 2", "check base", "ddl 0", "ddl 1", "ddl 2"], _log);

        _log.Clear();
        _shards[1].RefuseDdl = true;
        var error = await Assert.ThrowsAsync<ShardException>(() => router.ApplyDdlToShardsAsync(new DdlRequest("CREATE UNIQUE INDEX u ON items(v)"), () =>
        {
            baseChecked++;
            return Task.CompletedTask;
        }, CancellationToken.None));
        Assert.Equal(ShardErrorCode.SqlError, error.Code);
        Assert.Equal(["check 0", "check 1"], _log);
        Assert.Equal(1, baseChecked);
    }

    [Fact]
    public void A_partition_holds_rows_to_the_key_its_write_was_routed_by()
    {
        var key = SqlValue.FromText("acme");
        var index = new ShardAssigner(HashLayout, null).Assign(key);
        var other = Enumerable.Range(0, 100).Select(i => SqlValue.FromInteger(i)).First(v => new ShardAssigner(HashLayout, null).Assign(v) != index);

        var hash = TableRouter.RuleOf(new ShardKeyCheck("items", HashLayout, index, key), routers: null);
        Assert.True(hash.Belongs(key));
        Assert.False(hash.Belongs(other));

        var roundRobin = TableRouter.RuleOf(new ShardKeyCheck("items", RoundRobinLayout, 1, SqlValue.FromInteger(7)), routers: null);
        Assert.True(roundRobin.Belongs(SqlValue.FromInteger(7)));
        Assert.False(roundRobin.Belongs(SqlValue.FromText("7")));
        Assert.False(roundRobin.Belongs(SqlValue.FromInteger(8)));
    }

    /// <summary>A shard that records what it is sent; reads answer one row holding the shard's index.</summary>
    private sealed class FakeShard
    {
        private readonly int _index;
        private readonly List<string> _log;

        private FakeShard(int index, List<string> log)
        {
            _index = index;
            _log = log;
            Table = ShardProxy.Create<ITableShard>(Invoke);
            Host = ShardProxy.Create<IShardHost>(Invoke);
        }

        public ITableShard Table { get; }

        public IShardHost Host { get; }

        public List<QueryRequest> Queries { get; } = [];

        public ConcurrentQueue<CancellationToken> QueryTokens { get; } = new();

        public List<MutationRequest> Mutations { get; } = [];

        public List<BatchRequest> Batches { get; } = [];

        public List<ShardKeyCheck> Checks { get; } = [];

        /// <summary>When set, reads wait for it.</summary>
        public TaskCompletionSource? Gate { get; set; }

        public bool RefuseDdl { get; set; }

        public static FakeShard Create(int index, List<string> log) => new(index, log);

        public object? Invoke(MethodInfo method, object?[] args)
        {
            switch (method.Name)
            {
                case nameof(ITableShard.QueryAsync):
                    Log("query");
                    Queries.Add((QueryRequest)args[0]!);
                    QueryTokens.Enqueue((CancellationToken)args[1]!);
                    return AnswerAsync((CancellationToken)args[1]!);
                case nameof(IShardHost.MutateRoutedAsync):
                    Log("mutate");
                    Mutations.Add((MutationRequest)args[0]!);
                    Checks.Add((ShardKeyCheck)args[1]!);
                    return Task.FromResult(new MutationResult(1, 0, null));
                case nameof(IShardHost.BatchRoutedAsync):
                    Log("batch");
                    Batches.Add((BatchRequest)args[0]!);
                    Checks.Add((ShardKeyCheck)args[1]!);
                    return Task.FromResult(new BatchResult([], null));
                case nameof(IShardHost.CheckDdlAsync):
                    Log("check");
                    return RefuseDdl ? Task.FromException(new ShardException(ShardErrorCode.SqlError, "UNIQUE constraint failed")) : Task.CompletedTask;
                case nameof(ITableShard.DdlAsync):
                    Log("ddl");
                    return Task.FromResult(new DdlResult(true));
                default:
                    throw new NotSupportedException(method.Name);
            }
        }

        private void Log(string what)
        {
            lock (_log)
            {
                _log.Add($"{what} {_index}");
            }
        }

        private async Task<QueryResult> AnswerAsync(CancellationToken cancellationToken)
        {
            if (Gate is { } gate)
            {
                await gate.Task.WaitAsync(cancellationToken);
            }

            return new QueryResult(["shard"], [[SqlValue.FromInteger(_index)]], 1, new QueryMeta("shard", 0, null));
        }
    }

    /// <summary>One grain interface of a fake shard: every call is handed to the shard's handler.</summary>
    public class ShardProxy : DispatchProxy
    {
        private Func<MethodInfo, object?[], object?> _target = null!;

        internal static T Create<T>(Func<MethodInfo, object?[], object?> target)
            where T : class
        {
            var proxy = Create<T, ShardProxy>();
            ((ShardProxy)(object)proxy)._target = target;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            _target(targetMethod ?? throw new ArgumentNullException(nameof(targetMethod)), args ?? []);
    }
}

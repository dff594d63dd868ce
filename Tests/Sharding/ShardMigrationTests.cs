using OrleansShards.Tests.Infrastructure;
using static OrleansShards.Tests.Sharding.ShardingTestData;

namespace OrleansShards.Tests.Sharding;

/// <summary>Online operations: writes keep flowing during shard, rebalance and unshard, and none acknowledged is lost or applied twice.</summary>
public sealed class ShardMigrationTests
{
    public static TheoryData<string> Operations => new() { "shard", "rebalance-grow", "rebalance-shrink", "rebalance-range", "unshard" };

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task Operation_keeps_every_acknowledged_write_exactly_once_when_a_writer_runs(string operation)
    {
        await using var host = await ShardTestHost.StartAsync();
        const int Initial = 6000;
        var items = await CreateItemsAsync(host, Initial);
        var registry = host.Registry("items");
        var strategy = operation == "rebalance-range" ? "range" : "hash";
        var setupKey = operation == "rebalance-range" ? "id" : "org";
        if (operation != "shard")
        {
            await registry.ShardAsync(new ShardRequest(setupKey, operation == "rebalance-shrink" ? 5 : 3, strategy));
        }

        var writer = new ModelWriter(items, Initial, keyById: setupKey == "id");
        using var stop = new CancellationTokenSource();
        var writing = Task.Run(() => writer.RunAsync(stop.Token));
        await writer.WaitForAcksAsync(100);

        var acksBefore = writer.Acks;
        switch (operation)
        {
            case "shard":
                await registry.ShardAsync(new ShardRequest("org", 4));
                break;
            case "rebalance-grow":
                await registry.RebalanceAsync(new RebalanceRequest(TargetCount: 5));
                break;
            case "rebalance-shrink":
                await registry.RebalanceAsync(new RebalanceRequest(TargetCount: 3));
                break;
            case "rebalance-range":
                await registry.RebalanceAsync(new RebalanceRequest(TargetCount: 4, Strategy: "full"));
                break;
            default:
                await registry.UnshardAsync();
                break;
        }

        var duringOperation = writer.Acks - acksBefore;
        await writer.WaitForAcksAsync(writer.Acks + 100);
        await stop.CancelAsync();
        await writing;

        Assert.True(duringOperation > 0, "the writer made progress while the operation ran");
        var rows = await items.QueryAsync(new QueryRequest("SELECT id, price FROM items"));
        var ids = rows.Rows.Select(r => r[0].AsInteger).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        var actual = rows.Rows.ToDictionary(r => r[0].AsInteger, r => r[1].AsReal);
        Assert.Equal(writer.Model.Count, actual.Count);
        foreach (var (id, price) in writer.Model)
        {
            Assert.True(actual.TryGetValue(id, out var found), $"acknowledged row {id} is missing");
            Assert.Equal(price, found);
        }
    }

    /// <summary>One writer: inserts, updates and deletes, each acknowledged before the next; the model is what must be there.</summary>
    private sealed class ModelWriter(ITableShard table, int initial, bool keyById)
    {
        private readonly object _lock = new();
        private int _acks;
        private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Dictionary<long, double> Model { get; } = Enumerable.Range(0, initial).ToDictionary(i => (long)i, i => (double)i);

        public int Acks => Volatile.Read(ref _acks);

        public async Task RunAsync(CancellationToken stop)
        {
            var next = 1_000_000;
            var random = new Random(7);
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                n++;
                string sql;
                SqlValue[] args;
                long id;
                double? price;
                if (n % 5 == 0 && Model.Count > 0)
                {
                    id = Model.Keys.ElementAt(random.Next(Model.Count));
                    price = -n;
                    sql = "UPDATE items SET price = ? WHERE id = ?";
                    args = [price.Value, id];
                }
                else if (n % 7 == 0 && Model.Count > 0)
                {
                    id = Model.Keys.ElementAt(random.Next(Model.Count));
                    price = null;
                    sql = "DELETE FROM items WHERE id = ?";
                    args = [id];
                }
                else
                {
                    id = next++;
                    price = n;
                    sql = "INSERT INTO items(id, org, price) VALUES (?, ?, ?)";
                    args = [id, Org(id), price.Value];
                }

                await WriteAsync(new MutationRequest(sql, args, IdempotencyKey: "op" + n, ShardKey: keyById ? id : Org(id)));
                if (price is { } p)
                {
                    Model[id] = p;
                }
                else
                {
                    Model.Remove(id);
                }

                Interlocked.Increment(ref _acks);
                lock (_lock)
                {
                    _progress.TrySetResult();
                    _progress = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }
        }

        public async Task WaitForAcksAsync(int count)
        {
            while (Acks < count)
            {
                Task wait;
                lock (_lock)
                {
                    wait = _progress.Task;
                }

                if (Acks >= count)
                {
                    return;
                }

                await wait.WaitAsync(TimeSpan.FromSeconds(30));
            }
        }

        private static string Org(long id) => Orgs[id % Orgs.Length];

        /// <summary>Retries a refused or interrupted write with the same idempotency key, as a client would.</summary>
        private async Task WriteAsync(MutationRequest request)
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await table.MutateAsync(request);
                    return;
                }
                catch (ShardException ex) when (ex.Code == ShardErrorCode.Retryable && attempt < 1000)
                {
                    await Task.Yield();
                }
            }
        }
    }
}

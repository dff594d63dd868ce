using System.Globalization;
using OrleansShards.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansShards.Tests.Model;

/// <summary>
/// A seeded random workload — inserts, updates, deletes, batches, transactions, DDL, shard, unshard, rebalance,
/// restore and undo — run against one table and checked against a model (id → value). After every step the table
/// equals the model, and bookmarks issued so far restore to exactly the state the model recorded for them (a sample
/// in the default run, every one in the long form). The seed is printed; <c>MODEL_SEED</c> replays one run and
/// <c>MODEL_STEPS</c> sets its length (the soak form: <c>MODEL_STEPS=400 MODEL_CHECK_ALL=1</c>).
/// </summary>
public sealed class ShardModelTests(ITestOutputHelper output)
{
    private const string Tenant = "model";
    private const string Table = "m";

    [Fact]
    public async Task Every_step_matches_the_model_and_every_bookmark_restores_to_its_state()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("MODEL_SEED"), CultureInfo.InvariantCulture, out var s) ? s : Random.Shared.Next();
        var steps = int.TryParse(Environment.GetEnvironmentVariable("MODEL_STEPS"), CultureInfo.InvariantCulture, out var n) ? n : 60;
        var checkAll = Environment.GetEnvironmentVariable("MODEL_CHECK_ALL") == "1";
        output.WriteLine($"seed {seed}, {steps} steps (MODEL_SEED={seed} replays this run)");

        await using var host = await ShardTestHost.StartAsync();
        var run = new ModelRun(host, new Random(seed), output);
        await run.SetUpAsync();
        for (var step = 0; step < steps; step++)
        {
            var what = await run.StepAsync();
            output.WriteLine($"{step}: {what}");
            await run.AssertMatchesAsync($"seed {seed}, after step {step} ({what})");
            if (!run.Sharded)
            {
                await run.CheckBookmarksAsync(checkAll ? int.MaxValue : 2, $"seed {seed}, after step {step}");
            }
        }

        if (run.Sharded)
        {
            await run.UnshardAsync();
        }

        await run.CheckBookmarksAsync(int.MaxValue, $"seed {seed}, at the end");
    }

    private sealed class ModelRun(ShardTestHost host, Random random, ITestOutputHelper output)
    {
        private readonly SortedDictionary<long, long> _model = [];
        private readonly List<(string Bookmark, SortedDictionary<long, long> State)> _marks = [];
        private readonly ITableShard _shard = host.Shard(Tenant, Table);
        private IShardRegistry Registry => host.Grains.GetGrain<IShardRegistry>(ShardName.Format(Tenant, Table));

        public bool Sharded { get; private set; }

        public async Task SetUpAsync()
        {
            await _shard.DdlAsync(new DdlRequest($"CREATE TABLE {Table}(id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"));
            for (var id = 1; id <= 8; id++)
            {
                await InsertAsync(id, id * 10);
            }

            await MarkAsync();
        }

        public async Task<string> StepAsync()
        {
            var roll = random.Next(100);
            switch (roll)
            {
                case < 25:
                {
                    var id = random.Next(1, 40);
                    var v = random.Next(1000);
                    var outcome = await TryAsync(() => _shard.MutateAsync(new MutationRequest($"INSERT INTO {Table}(id, v) VALUES (?, ?)", [id, v], ShardKey: Key(id))));
                    Expect(outcome, _model.ContainsKey(id) ? ShardErrorCode.ConflictUnique : null, $"insert {id}");
                    _model.TryAdd(id, v);
                    await MarkAsync();
                    return $"insert {id}={v} ({outcome?.ToString() ?? "ok"})";
                }

                case < 40:
                {
                    var id = PickId();
                    var v = random.Next(1000);
                    await _shard.MutateAsync(new MutationRequest($"UPDATE {Table} SET v = ? WHERE id = ?", [v, id], ShardKey: Key(id)));
                    if (_model.ContainsKey(id))
                    {
                        _model[id] = v;
                    }

                    await MarkAsync();
                    return $"update {id}={v}";
                }

                case < 50:
                {
                    var id = PickId();
                    await _shard.MutateAsync(new MutationRequest($"DELETE FROM {Table} WHERE id = ?", [id], ShardKey: Key(id)));
                    _model.Remove(id);
                    await MarkAsync();
                    return $"delete {id}";
                }

                case < 60 when !Sharded:
                {
                    // All or nothing: a batch whose later insert conflicts changes nothing.
                    var a = random.Next(1, 40);
                    var b = random.Next(1, 40);
                    var statements = new List<Statement>
                    {
                        new($"UPDATE {Table} SET v = v + 1"),
                        new($"INSERT INTO {Table}(id, v) VALUES (?, 1)", [a]),
                        new($"INSERT INTO {Table}(id, v) VALUES (?, 2)", [b]),
                    };
                    var fails = _model.ContainsKey(a) || _model.ContainsKey(b) || a == b;
                    var outcome = await TryAsync(() => _shard.BatchAsync(new BatchRequest(statements)));
                    Expect(outcome, fails ? ShardErrorCode.ConflictUnique : null, $"batch {a},{b}");
                    if (!fails)
                    {
                        foreach (var key in _model.Keys.ToList())
                        {
                            _model[key]++;
                        }

                        _model[a] = 1;
                        _model[b] = 2;
                    }

                    await MarkAsync();
                    return $"batch +1, {a}, {b} ({outcome?.ToString() ?? "ok"})";
                }

                case < 68 when !Sharded:
                {
                    var id = PickId();
                    var begin = await _shard.TransactionAsync(new TransactionRequest(TransactionOperation.Begin));
                    await _shard.MutateAsync(new MutationRequest($"DELETE FROM {Table} WHERE id = ?", [id], TransactionId: begin.TransactionId));
                    await _shard.MutateAsync(new MutationRequest($"UPDATE {Table} SET v = v * 2", TransactionId: begin.TransactionId));
                    if (random.Next(4) == 0)
                    {
                        await _shard.TransactionAsync(new TransactionRequest(TransactionOperation.Rollback, begin.TransactionId));
                        return $"transaction delete {id}, double: rolled back";
                    }

                    await _shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, begin.TransactionId));
                    _model.Remove(id);
                    foreach (var key in _model.Keys.ToList())
                    {
                        _model[key] *= 2;
                    }

                    await MarkAsync();
                    return $"transaction delete {id}, double";
                }

                case < 73:
                {
                    var sql = random.Next(2) == 0 ? $"CREATE INDEX IF NOT EXISTS {Table}_v ON {Table}(v)" : $"DROP INDEX IF EXISTS {Table}_v";
                    await _shard.DdlAsync(new DdlRequest(sql));
                    await MarkAsync();
                    return sql;
                }

                case < 80 when !Sharded && _model.Count > 0:
                {
                    var count = random.Next(2, 4);
                    var strategy = random.Next(2) == 0 ? ShardStrategies.Hash : ShardStrategies.Range;
                    await Registry.ShardAsync(new ShardRequest("id", count, strategy));
                    Sharded = true;
                    return $"shard {count} by {strategy}";
                }

                case >= 80 and < 86 when Sharded:
                {
                    var count = random.Next(2, 5);
                    await Registry.RebalanceAsync(new RebalanceRequest(TargetCount: count));
                    return $"rebalance to {count}";
                }

                case < 92 when Sharded:
                    await UnshardAsync();
                    return "unshard";

                case >= 86 when !Sharded && _marks.Count > 1:
                {
                    var (bookmark, state) = _marks[random.Next(_marks.Count)];
                    var restored = await _shard.RestoreAsync(new RestoreRequest(bookmark));
                    Replace(state);
                    if (random.Next(3) == 0)
                    {
                        // Undo: back to the state before the restore, which the last mark recorded.
                        var before = _marks[^1].State;
                        await _shard.RestoreAsync(new RestoreRequest(restored.UndoBookmark));
                        Replace(before);
                        await MarkAsync();
                        return $"restore {bookmark} and undo";
                    }

                    await MarkAsync();
                    return $"restore {bookmark}";
                }

                default:
                {
                    var id = random.Next(1, 40);
                    var outcome = await TryAsync(() => _shard.MutateAsync(new MutationRequest($"INSERT INTO {Table}(id, v) VALUES (?, 7)", [id], ShardKey: Key(id))));
                    Expect(outcome, _model.ContainsKey(id) ? ShardErrorCode.ConflictUnique : null, $"insert {id}");
                    _model.TryAdd(id, 7);
                    await MarkAsync();
                    return $"insert {id}=7 ({outcome?.ToString() ?? "ok"})";
                }
            }
        }

        public async Task UnshardAsync()
        {
            await Registry.UnshardAsync();
            Sharded = false;
            await MarkAsync();
        }

        public async Task AssertMatchesAsync(string where)
        {
            var actual = await ReadAsync();
            Assert.True(
                actual.SequenceEqual(_model),
                $"{where}: table {Format(actual)} but model {Format(_model)}");
        }

        /// <summary>Restores up to <paramref name="sample"/> recorded bookmarks, compares each with its state, then undoes.</summary>
        public async Task CheckBookmarksAsync(int sample, string where)
        {
            var picks = sample >= _marks.Count ? _marks.ToList() : [.. Enumerable.Range(0, sample).Select(_ => _marks[random.Next(_marks.Count)])];
            foreach (var (bookmark, state) in picks)
            {
                output.WriteLine($"  check {bookmark}");
                var restored = await _shard.RestoreAsync(new RestoreRequest(bookmark));
                var actual = await ReadAsync();
                Assert.True(actual.SequenceEqual(state), $"{where}: bookmark {bookmark} restored {Format(actual)} but it recorded {Format(state)}");
                await _shard.RestoreAsync(new RestoreRequest(restored.UndoBookmark));
                await AssertMatchesAsync($"{where}, after undoing the restore of {bookmark}");
            }
        }

        private SqlValue? Key(long id) => Sharded ? SqlValue.FromInteger(id) : (SqlValue?)null;

        private long PickId() => _model.Count > 0 && random.Next(5) > 0 ? _model.Keys.ElementAt(random.Next(_model.Count)) : random.Next(1, 40);

        private async Task InsertAsync(long id, long v)
        {
            await _shard.MutateAsync(new MutationRequest($"INSERT INTO {Table}(id, v) VALUES (?, ?)", [id, v]));
            _model[id] = v;
        }

        /// <summary>Records the current bookmark with the model's state (only while unsharded: a sharded table's rows live in its partitions).</summary>
        private async Task MarkAsync()
        {
            if (Sharded)
            {
                return;
            }

            var bookmark = await _shard.GetBookmarkAsync(new BookmarkRequest());
            _marks.Add((bookmark.Bookmark, new SortedDictionary<long, long>(_model)));
        }

        private void Replace(SortedDictionary<long, long> state)
        {
            _model.Clear();
            foreach (var (k, v) in state)
            {
                _model[k] = v;
            }
        }

        private async Task<SortedDictionary<long, long>> ReadAsync()
        {
            var result = await _shard.QueryAsync(new QueryRequest($"SELECT id, v FROM {Table}"));
            var rows = new SortedDictionary<long, long>();
            foreach (var row in result.Rows)
            {
                Assert.True(rows.TryAdd(row[0].AsInteger, row[1].AsInteger), $"id {row[0]} appears twice");
            }

            return rows;
        }

        private static async Task<ShardErrorCode?> TryAsync(Func<Task> call)
        {
            try
            {
                await call();
                return null;
            }
            catch (ShardException ex)
            {
                return ex.Code;
            }
        }

        private void Expect(ShardErrorCode? actual, ShardErrorCode? expected, string what)
        {
            if (actual != expected)
            {
                output.WriteLine($"{what}: expected {expected?.ToString() ?? "success"}, got {actual?.ToString() ?? "success"}");
            }

            Assert.Equal(expected, actual);
        }

        private static string Format(SortedDictionary<long, long> state) => "{" + string.Join(", ", state.Select(p => $"{p.Key}:{p.Value}")) + "}";
    }
}

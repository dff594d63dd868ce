using Microsoft.Data.Sqlite;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Pitr;

/// <summary>The change log written by <c>SessionChangeCapture</c> through the shard writer.</summary>
public sealed class SessionChangeCaptureTests
{
    [Fact]
    public async Task Every_commit_logs_its_changeset_in_the_same_transaction_including_rowid_tables_and_trigger_writes()
    {
        await using var host = await ShardTestHost.StartAsync();
        var shard = host.Shard("acme", "log");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE log(a TEXT, b INTEGER)"));
        await shard.DdlAsync(new DdlRequest("CREATE TABLE seen(id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT)"));
        await shard.DdlAsync(new DdlRequest("CREATE TRIGGER t AFTER INSERT ON log BEGIN INSERT INTO seen(a) VALUES (new.a); END"));
        await shard.MutateAsync(new MutationRequest("INSERT INTO log(a, b) VALUES ('x', 1)"));
        await shard.MutateAsync(new MutationRequest("UPDATE log SET b = 2"));
        await shard.MutateAsync(new MutationRequest("DELETE FROM log"));

        var entries = ReadLog(Path.Combine(host.DataDirectory, "acme", "log.db"));
        Assert.Equal([1L, 2, 3, 4, 5, 6], entries.Select(e => e.Seq));
        Assert.All(entries.Take(3), e => Assert.Equal(1, e.Kind));
        Assert.Equal("CREATE TABLE log(a TEXT, b INTEGER)", entries[0].Ddl);
        Assert.All(entries.Skip(3), e => Assert.True(e.Changeset is { Length: > 0 }, $"commit {e.Seq} logged no changeset"));

        // The trigger's row in 'seen' is in the insert's changeset: replay must not fire the trigger again.
        var records = Grains.Storage.Native.Changeset.Read(entries[3].Changeset);
        Assert.Contains(records, r => r.Table == "log");
        Assert.Contains(records, r => r.Table == "seen");
    }

    [Fact]
    public async Task Drop_table_with_rows_commits_and_logs_when_capture_is_on()
    {
        await using var host = await ShardTestHost.StartAsync();
        var shard = host.Shard("acme", "drops");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE drops(id INTEGER PRIMARY KEY, v TEXT)"));
        await shard.MutateAsync(new MutationRequest("INSERT INTO drops(v) VALUES ('a'), ('b')"));
        var dropped = await shard.DdlAsync(new DdlRequest("DROP TABLE drops"));
        Assert.Equal(3, Bookmark.Parse(dropped.Bookmark).Sequence);
    }

    private static List<(long Seq, long Kind, byte[] Changeset, string? Ddl)> ReadLog(string database)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, kind, changeset, ddl FROM _changes ORDER BY seq";
        using var reader = command.ExecuteReader();
        var entries = new List<(long, long, byte[], string?)>();
        while (reader.Read())
        {
            entries.Add((reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? [] : (byte[])reader[2], reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return entries;
    }
}

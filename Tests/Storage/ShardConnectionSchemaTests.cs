using OrleansShards.Grains.Storage;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Storage;

/// <summary>A connection's copy of the schema after another connection changed it (<see cref="ShardConnection.RefreshSchema"/>).</summary>
public sealed class ShardConnectionSchemaTests
{
    [Fact]
    public void A_connection_that_ran_nothing_since_a_DDL_prepares_against_the_new_schema_once_refreshed()
    {
        using var dir = new TempDirectory("schema");
        var path = dir.Combine("u.db");
        using var writer = new ShardConnection(path, readOnly: false, planCacheSize: 4);
        writer.Execute("PRAGMA journal_mode = WAL; CREATE TABLE u(id INTEGER PRIMARY KEY, name TEXT, n INTEGER)");
        using var reader = new ShardConnection(path, readOnly: true, planCacheSize: 4);
        Assert.Equal(0, reader.ExecuteScalar("SELECT count(*) FROM u"));

        writer.Execute("CREATE UNIQUE INDEX u_name ON u(name); ALTER TABLE u ADD COLUMN w INTEGER");
        const string Upsert = "INSERT INTO u(name, n) VALUES ('a', 1) ON CONFLICT(name) DO UPDATE SET n = n + 1";
        const string FourValues = "INSERT INTO u VALUES (1, 'a', 1, 1)";

        // Without the refresh the reader judges by the schema it last saw (what queued transaction statements met).
        Assert.Equal(ShardErrorCode.SqlError, Assert.Throws<ShardException>(() => reader.PrepareUncached(Upsert).Dispose()).Code);

        reader.RefreshSchema();
        reader.PrepareUncached(Upsert).Dispose();
        reader.PrepareUncached(FourValues).Dispose();
    }
}

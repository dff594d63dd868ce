using OrleansShards.Grains.Storage.Native;

namespace OrleansShards.Grains.Storage;

/// <summary>
/// Hardening of every shard connection against untrusted SQL: the authorizer (<see cref="ShardSqlPolicy"/>),
/// defensive mode, no extension loading, untrusted schema, and <c>sqlite3_limit</c> caps (100 KB statement,
/// 100 parameters, 2 MB value, no attached databases) — see <see cref="SqliteHardening"/>.
/// </summary>
internal static class ShardSecurity
{
    public static void Apply(ShardConnection connection)
    {
        SqliteHardening.Apply(connection.Connection);
        var authorizer = SqliteAuthorizer.Install(connection.Connection, new ShardSqlPolicy(connection));
        connection.Authorizer = authorizer;
        connection.OnDispose(authorizer);

        // Hardening set the tenant caps; the connection idles in engine mode, which lifts the value cap.
        connection.Mode = SqlMode.Internal;
    }
}

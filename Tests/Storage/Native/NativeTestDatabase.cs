using Microsoft.Data.Sqlite;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Storage.Native;

/// <summary>
/// Real SQLite files in a fresh temp directory for the native-layer tests. Connections are
/// unpooled so hooks installed on one never reach another test, and are closed on dispose.
/// </summary>
public sealed class NativeTestDatabase : IDisposable
{
    private readonly TempDirectory _directory = new("native");
    private readonly List<SqliteConnection> _connections = [];

    public string PathOf(string file = "main.db") => _directory.Combine(file);

    public SqliteConnection Open(string file = "main.db")
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = PathOf(file),
            Pooling = false,
        }.ToString());
        connection.Open();
        _connections.Add(connection);
        return connection;
    }

    public static void Execute(SqliteConnection connection, string sql, params object?[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 0; i < parameters.Length; i++)
        {
            command.Parameters.AddWithValue("$p" + (i + 1), parameters[i] ?? DBNull.Value);
        }

        command.ExecuteNonQuery();
    }

    public static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public static List<string> Rows(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            var cells = new string[reader.FieldCount];
            for (var i = 0; i < cells.Length; i++)
            {
                cells[i] = reader.IsDBNull(i) ? "NULL" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)!;
            }

            rows.Add(string.Join("|", cells));
        }

        return rows;
    }

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }

        _directory.Dispose();
    }
}

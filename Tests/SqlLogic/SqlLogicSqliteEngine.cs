using Microsoft.Data.Sqlite;

namespace OrleansShards.Tests.SqlLogic;

/// <summary>
/// Plain SQLite in process (the library the store bundles), on an in-memory database: what the C runner itself would
/// see. Running the corpus against it checks the harness (parser, rendering, sorting, hashing) apart from the store.
/// </summary>
internal sealed class SqlLogicSqliteEngine : ISqlLogicEngine, IDisposable
{
    private readonly SqliteConnection _connection = new("Data Source=:memory:");

    public SqlLogicSqliteEngine() => _connection.Open();

    public Task<SqlLogicError?> ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        try
        {
            using var command = _connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
            return Task.FromResult<SqlLogicError?>(null);
        }
        catch (SqliteException ex)
        {
            return Task.FromResult<SqlLogicError?>(Error(ex));
        }
    }

    public Task<SqlLogicAnswer> QueryAsync(string sql, CancellationToken cancellationToken)
    {
        try
        {
            using var command = _connection.CreateCommand();
            command.CommandText = sql;
            using var reader = command.ExecuteReader();
            var rows = new List<SqlLogicValue[]>();
            while (reader.Read())
            {
                var row = new SqlLogicValue[reader.FieldCount];
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] = reader.GetValue(i) switch
                    {
                        DBNull => SqlLogicValue.Null,
                        long integer => new SqlLogicValue(SqlLogicValueKind.Integer, Integer: integer),
                        double real => new SqlLogicValue(SqlLogicValueKind.Real, Real: real),
                        string text => SqlLogicValue.FromText(text),
                        byte[] blob => new SqlLogicValue(SqlLogicValueKind.Blob, Bytes: blob),
                        var other => throw new InvalidOperationException("Unexpected value " + other),
                    };
                }

                rows.Add(row);
            }

            return Task.FromResult(new SqlLogicAnswer(reader.FieldCount, rows));
        }
        catch (SqliteException ex)
        {
            return Task.FromResult(SqlLogicAnswer.Failed(Error(ex)));
        }
    }

    public void Dispose() => _connection.Dispose();

    private static SqlLogicError Error(SqliteException ex) => new($"SQLITE {ex.SqliteErrorCode}", ex.Message, FromSql: true);
}

using SQLitePCL;

namespace OrleansShards.Grains.Storage;

/// <summary>One prepared statement kept in a connection's plan cache, with its column names.</summary>
internal sealed class PreparedStatement : IDisposable
{
    /// <summary>SQLITE_STMTSTATUS_REPREPARE: how often SQLite regenerated the statement after a schema change.</summary>
    private const int StmtStatusReprepare = 5;

    private string[]? _columns;
    private int _reprepares;

    public PreparedStatement(sqlite3_stmt handle, string sql)
    {
        Handle = handle;
        Sql = sql;
        IsReadOnly = raw.sqlite3_stmt_readonly(handle) != 0;
        ParameterCount = raw.sqlite3_bind_parameter_count(handle);
    }

    public sqlite3_stmt Handle { get; }

    public string Sql { get; }

    public bool IsReadOnly { get; }

    public int ParameterCount { get; }

    /// <summary>Column names; read again whenever SQLite prepared the statement again (a schema change).</summary>
    public string[] Columns
    {
        get
        {
            var count = raw.sqlite3_column_count(Handle);
            var reprepares = raw.sqlite3_stmt_status(Handle, StmtStatusReprepare, 0);
            if (_columns is null || _columns.Length != count || reprepares != _reprepares)
            {
                _reprepares = reprepares;
                var names = new string[count];
                for (var i = 0; i < count; i++)
                {
                    names[i] = raw.sqlite3_column_name(Handle, i).utf8_to_string();
                }

                _columns = names;
            }

            return _columns;
        }
    }

    public void Dispose() => Handle.Dispose();
}

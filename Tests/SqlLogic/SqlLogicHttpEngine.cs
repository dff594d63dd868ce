using System.Text;
using System.Text.Json;

namespace OrleansShards.Tests.SqlLogic;

/// <summary>
/// A script's database in the store: one table URL (<c>/v1/tables/{table}</c>, one SQLite file) of a tenant of its own,
/// so every table the script creates lives in that one file and can be joined. Each statement goes to its route:
/// CREATE/DROP/ALTER/REINDEX/ANALYZE to <c>/ddl</c>, SELECT/VALUES/WITH to <c>/query</c> (strong consistency),
/// anything else to <c>/mutation</c>.
/// </summary>
internal sealed class SqlLogicHttpEngine(HttpClient tenantClient, string table) : ISqlLogicEngine
{
    /// <summary>The codes of errors SQLite raised for the statement itself (not a refusal of the request).</summary>
    private static readonly HashSet<string> SqlErrorCodes = ["SQL_ERROR", "CONSTRAINT_VIOLATION", "CONFLICT_UNIQUE"];

    private readonly string _path = $"/v1/tables/{table}";

    public async Task<SqlLogicError?> ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        foreach (var statement in SqlLogicSql.Split(sql))
        {
            var route = SqlLogicSql.LeadingKeyword(statement) switch
            {
                "CREATE" or "DROP" or "ALTER" or "REINDEX" or "ANALYZE" => "/ddl",
                "SELECT" or "VALUES" or "WITH" => "/query",
                _ => "/mutation",
            };
            object body = route == "/query" ? new { query = statement, consistency = "strong" } : new { query = statement };
            var (_, error) = await PostAsync(route, body, cancellationToken);
            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    public async Task<SqlLogicAnswer> QueryAsync(string sql, CancellationToken cancellationToken)
    {
        var (answer, error) = await PostAsync("/query", new { query = sql, consistency = "strong" }, cancellationToken);
        if (error is not null)
        {
            return SqlLogicAnswer.Failed(error);
        }

        var columns = answer.GetProperty("columns").GetArrayLength();
        var rows = new List<SqlLogicValue[]>();
        foreach (var row in answer.GetProperty("rows").EnumerateArray())
        {
            var values = new SqlLogicValue[row.GetArrayLength()];
            var i = 0;
            foreach (var value in row.EnumerateArray())
            {
                values[i++] = SqlLogicValue.FromJson(value);
            }

            rows.Add(values);
        }

        return new SqlLogicAnswer(columns, rows);
    }

    private async Task<(JsonElement Answer, SqlLogicError? Error)> PostAsync(string route, object body, CancellationToken cancellationToken)
    {
        using var content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var response = await tenantClient.PostAsync(_path + route, content, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonElement json;
        try
        {
            json = JsonDocument.Parse(text).RootElement;
        }
        catch (JsonException)
        {
            return (default, new SqlLogicError($"HTTP {(int)response.StatusCode}", text, FromSql: false));
        }

        if (response.IsSuccessStatusCode)
        {
            return (json, null);
        }

        if (json.TryGetProperty("error", out var error) && error.TryGetProperty("code", out var code))
        {
            var name = code.GetString() ?? "";
            return (default, new SqlLogicError(name, error.GetProperty("message").GetString() ?? "", SqlErrorCodes.Contains(name)));
        }

        return (default, new SqlLogicError($"HTTP {(int)response.StatusCode}", text, FromSql: false));
    }
}

using System.CommandLine;
using OrleansShards.Client;

namespace OrleansShards.Cli;

/// <summary>The options every command accepts (<c>Recursive</c>: valid before or after the command name).</summary>
internal sealed class GlobalOptions
{
    public const string UrlVariable = "SHARDS_URL";
    public const string ApiKeyVariable = "SHARDS_API_KEY";
    public const string TenantVariable = "SHARDS_TENANT";

    public GlobalOptions(CliContext context)
    {
        Url = new Option<string>("--url")
        {
            Description = $"Silo address [env {UrlVariable}]",
            DefaultValueFactory = _ => context.Environment(UrlVariable) is { Length: > 0 } url ? url : ShardsClientOptions.DefaultEndpoint.AbsoluteUri.TrimEnd('/'),
            Recursive = true,
        };
        // No default value from the environment: help prints defaults, and a key must never be printed.
        ApiKey = new Option<string?>("--api-key")
        {
            Description = $"API key, sent as Authorization: Bearer [env {ApiKeyVariable}]",
            Recursive = true,
        };
        _context = context;
        Tenant = new Option<string?>("--tenant")
        {
            Description = $"Tenant name [env {TenantVariable}]",
            DefaultValueFactory = _ => context.Environment(TenantVariable) is { Length: > 0 } tenant ? tenant : null,
            Recursive = true,
        };
        Table = new Option<string?>("--table") { Description = "Table name", Recursive = true };
        Json = new Option<bool>("--json") { Description = "Print the answer as JSON instead of tables and text", Recursive = true };
    }

    public Option<string> Url { get; }

    private readonly CliContext _context;

    public Option<string?> ApiKey { get; }

    /// <summary><c>--api-key</c>, else <c>SHARDS_API_KEY</c>, else none.</summary>
    public string? ApiKeyOf(ParseResult parse) =>
        parse.GetValue(ApiKey) is { Length: > 0 } key ? key : _context.Environment(ApiKeyVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null;

    public Option<string?> Tenant { get; }

    public Option<string?> Table { get; }

    public Option<bool> Json { get; }

    public void AddTo(RootCommand root)
    {
        root.Options.Add(Url);
        root.Options.Add(ApiKey);
        root.Options.Add(Tenant);
        root.Options.Add(Table);
        root.Options.Add(Json);
    }
}

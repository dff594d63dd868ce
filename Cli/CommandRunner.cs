using System.CommandLine;
using System.Net.Sockets;
using OrleansShards.Cli.Output;
using OrleansShards.Client;

namespace OrleansShards.Cli;

/// <summary>
/// Runs one command against the shard named by <c>--tenant</c>/<c>--table</c> and turns failures into exit
/// codes: <see cref="UsageException"/> → 1, <see cref="ShardException"/> → 2 (the message names the code),
/// no silo reachable → 3.
/// </summary>
internal sealed class CommandRunner(GlobalOptions globals, CliContext context)
{
    public CliContext Context => context;

    public bool Json(ParseResult parse) => parse.GetValue(globals.Json);

    /// <summary>Builds the action of a command that works on one table shard.</summary>
    public Func<ParseResult, CancellationToken, Task<int>> ForShard(Func<ParseResult, ITableShard, CancellationToken, Task> body) =>
        For(static (client, tenant, table) => client.GetTable(tenant, table), body);

    /// <summary>Builds the action of a command that works on a table's shard registry (shard, unshard, rebalance, discover, query-shards).</summary>
    public Func<ParseResult, CancellationToken, Task<int>> ForRegistry(Func<ParseResult, IShardRegistry, CancellationToken, Task> body) =>
        For(static (client, tenant, table) => client.GetRegistry(tenant, table), body);

    /// <summary>Builds the action of a command that starts a long operation and watches it through the client (<c>GET /v1/operations/{id}</c>).</summary>
    public Func<ParseResult, CancellationToken, Task<int>> ForOperation<TGrain>(
        Func<ShardsClient, string, string, TGrain> grain, Func<ParseResult, TGrain, OperationWatch, CancellationToken, Task> body) =>
        For((client, tenant, table) => (Grain: grain(client, tenant, table), Watch: new OperationWatch(context, client, tenant)),
            (parse, target, cancellationToken) => body(parse, target.Grain, target.Watch, cancellationToken));

    private Func<ParseResult, CancellationToken, Task<int>> For<TGrain>(
        Func<ShardsClient, string, string, TGrain> grain, Func<ParseResult, TGrain, CancellationToken, Task> body) =>
        async (parse, cancellationToken) =>
        {
            var url = parse.GetValue(globals.Url);
            try
            {
                var tenant = parse.GetValue(globals.Tenant);
                var table = parse.GetValue(globals.Table);
                if (string.IsNullOrEmpty(tenant))
                {
                    throw new UsageException($"No tenant: pass --tenant or set {GlobalOptions.TenantVariable}.");
                }

                if (string.IsNullOrEmpty(table))
                {
                    throw new UsageException("No table: pass --table.");
                }

                if (!ShardName.IsValid(tenant) || !ShardName.IsValid(table))
                {
                    throw new UsageException($"Tenant and table names are 1-{ShardName.MaxLength} characters of [A-Za-z0-9_] (got '{tenant}', '{table}').");
                }

                using var client = new ShardsClient(CreateOptions(url, globals.ApiKeyOf(parse)));
                await body(parse, grain(client, tenant, table), cancellationToken).ConfigureAwait(false);
                return ExitCodes.Ok;
            }
            catch (UsageException ex)
            {
                await context.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
                return ExitCodes.Usage;
            }
            catch (ShardException ex)
            {
                await context.Error.WriteLineAsync($"error: {ex.Code.ToWire()}: {ex.Message}").ConfigureAwait(false);
                return ExitCodes.ApiError;
            }
            catch (HttpRequestException ex)
            {
                var cause = ex.InnerException is SocketException socket ? socket.SocketErrorCode.ToString() : ex.HttpRequestError.ToString();
                await context.Error.WriteLineAsync($"error: cannot reach the silo at {url} ({cause}): {ex.Message}").ConfigureAwait(false);
                return ExitCodes.ConnectionFailure;
            }
        };

    private static ShardsClientOptions CreateOptions(string? url, string? apiKey)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new UsageException($"--url must be an http:// or https:// address (got '{url}').");
        }

        var options = new ShardsClientOptions { Endpoints = [uri], ApiKey = apiKey };
        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.Message);
        }

        return options;
    }
}

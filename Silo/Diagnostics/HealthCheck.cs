using Microsoft.Extensions.Options;
using Orleans.Runtime;
using OrleansShards.Grains.Diagnostics;
using OrleansShards.Grains.Storage;
using OrleansShards.Silo.Hosting;
using OrleansShards.Silo.Http;
using OrleansShards.Silo.Http.Wire;

namespace OrleansShards.Silo.Diagnostics;

/// <summary>
/// <c>GET /health</c>: <c>ok</c> (200) when the data directory accepts a file and shards could open their files within
/// the last <see cref="ShardFileBudget.ExhaustedWindow"/>, else <c>degraded</c> (503); also the number of live shards the
/// capacity registry knows of, of live grain activations, and the shards' open files against their budget.
/// </summary>
internal sealed class HealthCheck(IOptions<ShardsSiloOptions> options, IServiceProvider services)
{
    public IResult Check()
    {
        var writable = IsWritable(ShardsSiloHostingExtensions.GetDataDirectory(options.Value));
        int? activeShards = services.GetService(typeof(ShardCapacityRegistry)) is ShardCapacityRegistry registry
            ? registry.Measure().Count()
            : null;
        int? activations = services.GetService(typeof(IActivationWorkingSet)) is IActivationWorkingSet workingSet ? workingSet.Count : null;
        var files = services.GetService(typeof(ShardFileBudget)) as ShardFileBudget;
        var exhausted = files?.IsExhausted ?? false;
        var ok = writable && !exhausted;
        var response = new HealthResponse(ok ? "ok" : "degraded", writable, activeShards, activations, files?.OpenFiles, files?.Limit, exhausted);
        return TypedResults.Json(response, ShardsJsonContext.Default.HealthResponse, statusCode: ok ? 200 : 503);
    }

    private static bool IsWritable(string directory)
    {
        try
        {
            var silo = Path.Combine(directory, ".silo");
            Directory.CreateDirectory(silo);
            var probe = Path.Combine(silo, "health-" + Guid.NewGuid().ToString("N") + ".tmp");
            File.WriteAllBytes(probe, [1]);
            File.Delete(probe);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}

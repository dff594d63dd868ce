using Microsoft.Extensions.Options;
using Orleans.Runtime;
using OrleansShards.Grains.Diagnostics;
using OrleansShards.Silo.Hosting;
using OrleansShards.Silo.Http;
using OrleansShards.Silo.Http.Wire;

namespace OrleansShards.Silo.Diagnostics;

/// <summary>
/// <c>GET /health</c>: <c>ok</c> (200) when the data directory accepts a file, else <c>degraded</c> (503);
/// also the number of live shards the capacity registry knows of and of live grain activations.
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
        var response = new HealthResponse(writable ? "ok" : "degraded", writable, activeShards, activations);
        return TypedResults.Json(response, ShardsJsonContext.Default.HealthResponse, statusCode: writable ? 200 : 503);
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

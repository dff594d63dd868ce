using OrleansShards.Grains.Storage.Native;

namespace OrleansShards.Grains.Storage;

/// <summary>
/// The authorizer policy of a shard connection: the engine's own statements (<see cref="SqlMode.Internal"/>)
/// pass; tenant statements are judged by <see cref="TenantSqlPolicy"/>, with schema changes allowed only
/// in <see cref="SqlMode.TenantDdl"/>. In <see cref="SqlMode.Engine"/> the engine's top-level statements pass and
/// every access made inside a trigger (or view) is judged as a tenant write.
/// </summary>
internal sealed class ShardSqlPolicy(ShardConnection connection) : ISqliteAuthorizerPolicy
{
    private readonly TenantSqlPolicy _tenant = new();

    public AuthorizerResult Authorize(in AuthorizerRequest request)
    {
        var mode = connection.Mode;
        if (mode == SqlMode.Internal || (mode == SqlMode.Engine && request.TriggerOrView.IsNull))
        {
            return AuthorizerResult.Ok;
        }

        _tenant.AllowSchemaChanges = mode == SqlMode.TenantDdl;
        return _tenant.Authorize(request);
    }
}

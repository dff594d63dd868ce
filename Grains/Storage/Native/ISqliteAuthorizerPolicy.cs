namespace OrleansShards.Grains.Storage.Native;

/// <summary>
/// Decides each authorizer question of a <see cref="SqliteAuthorizer"/>. Called on the thread
/// that prepares a statement, at prepare time (and again whenever SQLite re-prepares it after a
/// schema change). Must not throw and must not use the connection; a throw is treated as Deny.
/// </summary>
internal interface ISqliteAuthorizerPolicy
{
    /// <summary>Allows, denies or ignores one action.</summary>
    AuthorizerResult Authorize(in AuthorizerRequest request);
}

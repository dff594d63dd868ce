namespace OrleansShards.Grains.Storage.Native;

/// <summary>
/// The OrleansShards rules for untrusted tenant SQL, as an authorizer policy. Denied always:
/// ATTACH/DETACH; <c>load_extension()</c>; transaction and savepoint statements (the engine owns
/// transactions); TEMP schema objects (they would outlive the call on the shared connection);
/// any access to an internal table (name starting with <c>_</c>) or to <c>sqlite_dbpage</c>;
/// PRAGMAs outside a read-only allowlist, and any PRAGMA argument except a table/index name for
/// the introspection pragmas. Schema changes (CREATE/DROP/ALTER/REINDEX/ANALYZE, and the
/// <c>sqlite_schema</c> writes they make) only while <see cref="AllowSchemaChanges"/> is true.
/// Unknown action codes are denied. Allocation-free.
/// </summary>
/// <remarks>
/// Verified against SQLite 3.50: <c>VACUUM</c> and <c>VACUUM INTO</c> ask for ATTACH (so both are
/// denied); table-valued pragmas (<c>pragma_table_info('_meta')</c>) ask for the PRAGMA too;
/// <c>count(*)</c> asks for a READ with an empty column name; <c>PRAGMA user_version=''</c> passes
/// an empty (not NULL) argument and is denied as a write. <c>sqlite_schema</c> stays readable,
/// so the names of internal tables are visible, their rows are not.
/// </remarks>
internal sealed class TenantSqlPolicy : ISqliteAuthorizerPolicy
{
    /// <summary>
    /// True during a tenant "ddl" call: CREATE/DROP/ALTER of non-internal tables, indexes,
    /// views, triggers and virtual tables are allowed. False (default) for query and mutation.
    /// </summary>
    public bool AllowSchemaChanges { get; set; }

    /// <inheritdoc />
    public AuthorizerResult Authorize(in AuthorizerRequest request)
    {
        switch (request.Action)
        {
            case AuthorizerAction.Select:
            case AuthorizerAction.Recursive:
                return AuthorizerResult.Ok;

            case AuthorizerAction.Function:
                return request.Arg2.EqualsIgnoreCase("load_extension"u8) ? AuthorizerResult.Deny : AuthorizerResult.Ok;

            case AuthorizerAction.Read:
                return IsInternal(request.Arg1) || request.Arg1.EqualsIgnoreCase("sqlite_dbpage"u8)
                    ? AuthorizerResult.Deny
                    : AuthorizerResult.Ok;

            case AuthorizerAction.Insert:
            case AuthorizerAction.Update:
            case AuthorizerAction.Delete:
                if (IsInternal(request.Arg1))
                {
                    return AuthorizerResult.Deny;
                }

                // DDL records itself through these on sqlite_schema; a tenant never writes it directly.
                return IsSchemaTable(request.Arg1) && !AllowSchemaChanges ? AuthorizerResult.Deny : AuthorizerResult.Ok;

            case AuthorizerAction.Pragma:
                return AuthorizePragma(request.Arg1, request.Arg2);

            case AuthorizerAction.CreateIndex:
            case AuthorizerAction.CreateTable:
            case AuthorizerAction.CreateTrigger:
            case AuthorizerAction.CreateView:
            case AuthorizerAction.CreateVtable:
            case AuthorizerAction.DropIndex:
            case AuthorizerAction.DropTable:
            case AuthorizerAction.DropTrigger:
            case AuthorizerAction.DropView:
            case AuthorizerAction.DropVtable:
            case AuthorizerAction.AlterTable:
            case AuthorizerAction.Reindex:
            case AuthorizerAction.Analyze:
                return AllowSchemaChanges && !IsInternal(request.Arg1) && !IsInternal(request.Arg2)
                    ? AuthorizerResult.Ok
                    : AuthorizerResult.Deny;

            default:
                // ATTACH, DETACH, TRANSACTION, SAVEPOINT, every TEMP object, COPY and codes added later.
                return AuthorizerResult.Deny;
        }
    }

    private static AuthorizerResult AuthorizePragma(AuthorizerArgument name, AuthorizerArgument argument)
    {
        if (IsNameArgumentPragma(name))
        {
            // The argument is a table or index name; never an internal one.
            return IsInternal(argument) ? AuthorizerResult.Deny : AuthorizerResult.Ok;
        }

        // Reading a value is allowed; "PRAGMA x = v" and "PRAGMA x(v)" set it.
        return argument.IsNull && IsReadOnlyPragma(name) ? AuthorizerResult.Ok : AuthorizerResult.Deny;
    }

    private static bool IsNameArgumentPragma(AuthorizerArgument name) =>
        name.EqualsIgnoreCase("table_info"u8)
        || name.EqualsIgnoreCase("table_xinfo"u8)
        || name.EqualsIgnoreCase("table_list"u8)
        || name.EqualsIgnoreCase("index_list"u8)
        || name.EqualsIgnoreCase("index_info"u8)
        || name.EqualsIgnoreCase("index_xinfo"u8)
        || name.EqualsIgnoreCase("foreign_key_list"u8)
        || name.EqualsIgnoreCase("foreign_key_check"u8);

    private static bool IsReadOnlyPragma(AuthorizerArgument name) =>
        name.EqualsIgnoreCase("user_version"u8)
        || name.EqualsIgnoreCase("page_count"u8)
        || name.EqualsIgnoreCase("page_size"u8)
        || name.EqualsIgnoreCase("freelist_count"u8)
        || name.EqualsIgnoreCase("collation_list"u8)
        || name.EqualsIgnoreCase("function_list"u8)
        || name.EqualsIgnoreCase("data_version"u8)
        || name.EqualsIgnoreCase("encoding"u8)
        || name.EqualsIgnoreCase("foreign_keys"u8);

    private static bool IsInternal(AuthorizerArgument name) => name.StartsWith((byte)'_');

    private static bool IsSchemaTable(AuthorizerArgument name) =>
        name.EqualsIgnoreCase("sqlite_master"u8)
        || name.EqualsIgnoreCase("sqlite_schema"u8)
        || name.EqualsIgnoreCase("sqlite_temp_master"u8)
        || name.EqualsIgnoreCase("sqlite_temp_schema"u8);
}

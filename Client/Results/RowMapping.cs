using System.Diagnostics.CodeAnalysis;

namespace OrleansShards.Client;

/// <summary>
/// Maps rows (<see cref="SqlValue"/> arrays) to records and classes: <c>result.As&lt;Order&gt;()</c>.
/// </summary>
/// <remarks>
/// <para>Columns are matched to constructor parameters and then to settable (including <c>init</c>) public
/// properties by name, ignoring case and underscores (<c>created_at</c> fills <c>CreatedAt</c>). The public
/// constructor with the most parameters whose names are all columns (or optional) is used; columns that
/// match nothing are ignored; a required member with no column fails naming it. A scalar
/// target type (<c>As&lt;long&gt;()</c>) takes the first column.</para>
/// <para>Conversions: INTEGER to any integral type, <c>bool</c> (non-zero), <c>double</c>/<c>float</c>/<c>decimal</c>,
/// enums (by value) and <see cref="DateTimeOffset"/>/<see cref="DateTime"/> (Unix milliseconds); REAL to
/// floating types and <c>decimal</c>; TEXT to <c>string</c>, <c>char</c>, enums (by name), <see cref="Guid"/>,
/// <see cref="DateTimeOffset"/>/<see cref="DateTime"/> (ISO 8601) and <see cref="Uri"/>; BLOB to <c>byte[]</c>;
/// NULL to <c>null</c> (a non-nullable value type fails). Any value to <see cref="SqlValue"/> or <c>object</c>.</para>
/// <para>Trimming: the target type's public constructors and properties are kept by the
/// <see cref="DynamicallyAccessedMembersAttribute"/> annotations; no other reflection is used.</para>
/// </remarks>
public static class RowMapping
{
    private const DynamicallyAccessedMemberTypes Members =
        DynamicallyAccessedMemberTypes.PublicConstructors | DynamicallyAccessedMemberTypes.PublicProperties;

    /// <summary>Maps every row of a query result to <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidOperationException">No constructor fits, or a value cannot become its member's type; the message names the column.</exception>
    public static IReadOnlyList<T> As<[DynamicallyAccessedMembers(Members)] T>(this QueryResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return Map<T>(result.Columns, result.Rows);
    }

    /// <summary>Maps the rows of one batch or transaction statement (e.g. with <c>RETURNING</c>) to <typeparamref name="T"/>; none when it returned no rows.</summary>
    /// <exception cref="InvalidOperationException">No constructor fits, or a value cannot become its member's type; the message names the column.</exception>
    public static IReadOnlyList<T> As<[DynamicallyAccessedMembers(Members)] T>(this StatementResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Columns is { } columns && result.Rows is { } rows ? Map<T>(columns, rows) : [];
    }

    /// <summary>Maps rows with the given column names to <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidOperationException">No constructor fits, or a value cannot become its member's type; the message names the column.</exception>
    public static IReadOnlyList<T> Map<[DynamicallyAccessedMembers(Members)] T>(IReadOnlyList<string> columns, IReadOnlyList<SqlValue[]> rows)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(rows);
        var list = new List<T>(rows.Count);
        if (SqlValueConversion.IsScalar(typeof(T)))
        {
            if (columns.Count == 0)
            {
                throw new InvalidOperationException($"Mapping to {typeof(T).Name} needs at least one column.");
            }

            foreach (var row in rows)
            {
                list.Add((T)SqlValueConversion.Convert(row[0], typeof(T), columns[0])!);
            }

            return list;
        }

        var plan = RowMapPlan.Create(typeof(T), columns);
        foreach (var row in rows)
        {
            list.Add((T)plan.Materialize(row));
        }

        return list;
    }
}

using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace OrleansShards.Client;

/// <summary>How one result's columns fill one type: a constructor and the properties set after it.</summary>
internal sealed class RowMapPlan
{
    private readonly ConstructorInfo _constructor;
    private readonly (int Column, Type Type, object? Default, string Name)[] _arguments;
    private readonly (int Column, PropertyInfo Property)[] _properties;
    private readonly IReadOnlyList<string> _columns;

    private RowMapPlan(ConstructorInfo constructor, (int, Type, object?, string)[] arguments, (int, PropertyInfo)[] properties, IReadOnlyList<string> columns)
    {
        _constructor = constructor;
        _arguments = arguments;
        _properties = properties;
        _columns = columns;
    }

    public static RowMapPlan Create(
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors | DynamicallyAccessedMemberTypes.PublicProperties)] Type type,
        IReadOnlyList<string> columns)
    {
        var byName = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < columns.Count; i++)
        {
            byName.TryAdd(Normalize(columns[i]), i);
        }

        ConstructorInfo? chosen = null;
        (int, Type, object?, string)[]? arguments = null;
        string? missing = null;
        foreach (var constructor in type.GetConstructors().OrderByDescending(c => c.GetParameters().Length))
        {
            var parameters = constructor.GetParameters();
            var candidate = new (int, Type, object?, string)[parameters.Length];
            var fits = true;
            for (var i = 0; i < parameters.Length && fits; i++)
            {
                var p = parameters[i];
                if (p.Name is { } name && byName.TryGetValue(Normalize(name), out var column))
                {
                    candidate[i] = (column, p.ParameterType, null, name);
                }
                else if (p.HasDefaultValue)
                {
                    candidate[i] = (-1, p.ParameterType, p.DefaultValue, p.Name ?? "?");
                }
                else
                {
                    missing ??= p.Name;
                    fits = false;
                }
            }

            if (fits)
            {
                chosen = constructor;
                arguments = candidate;
                break;
            }
        }

        if (chosen is null || arguments is null)
        {
            throw new InvalidOperationException(
                $"No public constructor of {type.Name} can be filled from the columns ({string.Join(", ", columns)}): no column for parameter '{missing}'.");
        }

        var used = new HashSet<int>(arguments.Select(a => a.Item1));
        var properties = new List<(int, PropertyInfo)>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.SetMethod is { IsPublic: true } && property.GetIndexParameters().Length == 0
                && byName.TryGetValue(Normalize(property.Name), out var column) && !used.Contains(column))
            {
                properties.Add((column, property));
            }
        }

        return new RowMapPlan(chosen, arguments, [.. properties], columns);
    }

    public object Materialize(SqlValue[] row)
    {
        var values = new object?[_arguments.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var (column, type, defaultValue, _) = _arguments[i];
            values[i] = column < 0 ? defaultValue : SqlValueConversion.Convert(row[column], type, _columns[column]);
        }

        var instance = _constructor.Invoke(values);
        foreach (var (column, property) in _properties)
        {
            property.SetValue(instance, SqlValueConversion.Convert(row[column], property.PropertyType, _columns[column]));
        }

        return instance;
    }

    private static string Normalize(string name) => name.Replace("_", string.Empty, StringComparison.Ordinal);
}

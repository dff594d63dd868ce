using System.Globalization;

namespace OrleansShards;

/// <summary>
/// Gives a grain method its own call timeout instead of the runtime's default (30 s): for operations
/// that legitimately run long, such as sharding or rebalancing a large table.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class ResponseTimeoutAttribute : Attribute
{
    /// <summary>Sets the timeout from a <see cref="TimeSpan"/> string, e.g. <c>"00:30:00"</c>.</summary>
    /// <exception cref="ArgumentException">The text is not a positive time span.</exception>
    public ResponseTimeoutAttribute(string timeout)
    {
        if (!TimeSpan.TryParse(timeout, CultureInfo.InvariantCulture, out var value) || value <= TimeSpan.Zero)
        {
            throw new ArgumentException($"'{timeout}' is not a positive time span.", nameof(timeout));
        }

        Timeout = value;
    }

    /// <summary>The call timeout of the method.</summary>
    public TimeSpan Timeout { get; }
}

using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// Recognises a failure caused by configuration — an option that fails validation, a value that does not convert to
/// the option's type, an Orleans provider's configuration — and describes it by option and reason, so the standalone
/// silo prints that and exits with <see cref="ExitCode"/> instead of aborting with a stack trace.
/// </summary>
internal static class ConfigurationErrors
{
    /// <summary>The exit code of a silo that refused its configuration.</summary>
    public const int ExitCode = 2;

    /// <summary>One line per invalid option, or null when <paramref name="exception"/> is not a configuration error.</summary>
    public static IReadOnlyList<string>? Describe(Exception exception)
    {
        var failures = new List<string>();
        Collect(exception, failures);
        return failures.Count == 0 ? null : failures.Distinct(StringComparer.Ordinal).ToList();
    }

    private static bool Collect(Exception exception, List<string> failures)
    {
        switch (exception)
        {
            case OptionsValidationException validation:
                failures.AddRange(validation.Failures);
                return true;
            case OrleansConfigurationException orleans:
                failures.Add(orleans.Message);
                return true;
            case InvalidOperationException binding when binding.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal):
                // The binder names the key: "Failed to convert configuration value 'x' at 'Shards:MaxConcurrentRequests' to type 'System.Int32'."
                failures.Add(binding.Message);
                return true;
            case AggregateException aggregate:
                var any = false;
                foreach (var inner in aggregate.InnerExceptions)
                {
                    any |= Collect(inner, failures);
                }

                return any;
            default:
                return exception.InnerException is { } cause && Collect(cause, failures);
        }
    }

    /// <summary>Prints the failures to standard error, one option a line.</summary>
    public static void Write(TextWriter error, IReadOnlyList<string> failures)
    {
        error.WriteLine("Refusing to start: the configuration is invalid.");
        foreach (var failure in failures)
        {
            error.WriteLine("  " + failure);
        }
    }
}

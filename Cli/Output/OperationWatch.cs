using System.Globalization;
using OrleansShards.Client;
using Spectre.Console;

namespace OrleansShards.Cli.Output;

/// <summary>
/// Runs a long operation (restore, shard, unshard, rebalance) under an operation id chosen here, and shows its progress
/// from <c>GET /v1/operations/{id}</c> while it runs: a progress bar with the phase and the numbers on a terminal, plain
/// lines (<c>  copy: 16,384 / 50,000 rows (32%)</c>) when the output is not one. The last line names the id and the end.
/// </summary>
internal sealed class OperationWatch(CliContext context, ShardsClient client, string tenant)
{
    /// <summary>How often the record is read while the operation runs.</summary>
    internal static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Least time between two plain progress lines of one phase.</summary>
    internal static readonly TimeSpan LineInterval = TimeSpan.FromSeconds(2);

    /// <summary>Starts <paramref name="start"/> with a new operation id and shows its progress until it answers.</summary>
    /// <param name="title">What runs, e.g. <c>Sharding into 3 by customer (hash)…</c>.</param>
    /// <param name="unit">What done/total count (<c>rows</c>, <c>steps</c>).</param>
    /// <param name="start">The call, given the operation id to send.</param>
    /// <param name="cancellationToken">Stops watching (the call sees it too).</param>
    public async Task<T> RunAsync<T>(string title, string unit, Func<string, Task<T>> start, CancellationToken cancellationToken)
    {
        var id = OperationIds.New();
        var work = start(id);
        T result;
        if (context.Animates)
        {
            result = await WithBarAsync(title, unit, id, work, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            Renderer.Line(context, $"{title} (operation {id})");
            result = await WithLinesAsync(unit, id, work, cancellationToken).ConfigureAwait(false);
        }

        var final = await TryGetAsync(id, cancellationToken).ConfigureAwait(false);
        Renderer.Line(context, final is null
            ? $"operation {id} completed"
            : $"operation {id} {final.State}: {Figures(final, unit)}");
        return result;
    }

    private async Task<T> WithLinesAsync<T>(string unit, string id, Task<T> work, CancellationToken cancellationToken)
    {
        string? lastPhase = null;
        var lastLine = DateTimeOffset.MinValue;
        while (!work.IsCompleted)
        {
            await Task.WhenAny(work, Task.Delay(PollInterval, cancellationToken)).ConfigureAwait(false);
            if (work.IsCompleted || await TryGetAsync(id, cancellationToken).ConfigureAwait(false) is not { State: OperationStates.Running } info)
            {
                continue;
            }

            var now = DateTimeOffset.UtcNow;
            if (info.Phase != lastPhase || now - lastLine >= LineInterval)
            {
                Renderer.Line(context, $"  {info.Phase}: {Figures(info, unit)}");
                lastPhase = info.Phase;
                lastLine = now;
            }
        }

        return await work.ConfigureAwait(false);
    }

    private async Task<T> WithBarAsync<T>(string title, string unit, string id, Task<T> work, CancellationToken cancellationToken)
    {
        await context.Console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask(Markup.Escape(title), maxValue: 1);
                while (!work.IsCompleted)
                {
                    await Task.WhenAny(work, Task.Delay(PollInterval, cancellationToken)).ConfigureAwait(false);
                    if (await TryGetAsync(id, cancellationToken).ConfigureAwait(false) is { } info)
                    {
                        task.MaxValue = Math.Max(1, info.Total);
                        task.Value = Math.Min(info.Done, task.MaxValue);
                        task.Description = Markup.Escape($"{title} {info.Phase}: {Figures(info, unit)}");
                    }
                }

                task.Value = task.MaxValue;
            }).ConfigureAwait(false);
        return await work.ConfigureAwait(false);
    }

    private async Task<OperationInfo?> TryGetAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            return await client.GetOperationAsync(tenant, id, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ShardException or HttpRequestException)
        {
            // Progress is a hint: the operation's own answer decides the outcome.
            return null;
        }
    }

    /// <summary><c>16,384 / 50,000 rows (32%)</c>, or <c>16,384 rows</c> while the total is unknown.</summary>
    internal static string Figures(OperationInfo info, string unit) => info.Total > 0
        ? string.Create(CultureInfo.InvariantCulture, $"{info.Done:N0} / {info.Total:N0} {unit} ({100.0 * info.Done / info.Total:0}%)")
        : string.Create(CultureInfo.InvariantCulture, $"{info.Done:N0} {unit}");
}

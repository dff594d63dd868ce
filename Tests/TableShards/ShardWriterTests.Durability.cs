using System.Diagnostics;
using Microsoft.Data.Sqlite;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.TableShards;

public sealed partial class ShardWriterTests
{
    private const int AcksBeforeKill = 600;

    [Fact]
    public async Task EnqueueAsync_keeps_every_acknowledged_write_when_the_process_is_killed()
    {
        using var dir = new TempDirectory("crash");
        var acked = new List<long>();
        using var process = Process.Start(new ProcessStartInfo("dotnet", [CrashHostPath(), dir.Path])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stderr = process.StandardError.ReadToEndAsync();
        var reading = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("ack ", StringComparison.Ordinal))
                {
                    lock (acked)
                    {
                        acked.Add(long.Parse(line.AsSpan(4), System.Globalization.CultureInfo.InvariantCulture));
                        if (acked.Count >= AcksBeforeKill)
                        {
                            enough.TrySetResult();
                        }
                    }
                }
            }

            enough.TrySetException(new InvalidOperationException("The crash host exited early: " + await stderr));
        });

        await enough.Task.WaitAsync(TimeSpan.FromSeconds(45));
        process.Kill(entireProcessTree: true); // SIGKILL: no shutdown, no flush, no checkpoint.
        await process.WaitForExitAsync();
        await reading; // acknowledgements already in the pipe count too

        Assert.NotEqual(0, process.ExitCode);
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dir.Path, "crash", "items.db"),
            Pooling = false,
        }.ToString());
        connection.Open();
        var present = new HashSet<long>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT id, payload FROM items";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                Assert.Equal("payload-" + reader.GetInt64(0), reader.GetString(1));
                present.Add(reader.GetInt64(0));
            }
        }

        Assert.True(acked.Count >= AcksBeforeKill);
        var lost = acked.Where(id => !present.Contains(id)).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} acknowledged writes lost, e.g. {string.Join(", ", lost.Take(5))}");
    }

    private static string CrashHostPath()
    {
        // Tests/bin/{Configuration}/{tfm}/ -> Tests.CrashHost/bin/{Configuration}/{tfm}/
        var testDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = testDirectory.Name;
        var configuration = testDirectory.Parent!.Name;
        var root = testDirectory.Parent.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(root, "Tests.CrashHost", "bin", configuration, tfm, "OrleansShards.Tests.CrashHost.dll");
        Assert.True(File.Exists(path), "Build Tests.CrashHost first: " + path);
        return path;
    }
}

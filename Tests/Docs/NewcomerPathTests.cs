using System.Diagnostics;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Docs;

/// <summary>
/// Issue 15 item 12: data goes where the README says — <c>./data</c> of the directory <c>dotnet run</c> (or
/// <c>scripts/run-silo.sh</c>) is started from, not the project's folder — and git ignores it wherever it lands.
/// </summary>
public sealed class NewcomerPathTests
{
    [Theory]
    [InlineData("Silo/Silo.csproj")]
    [InlineData("samples/CoHosted/CoHosted.csproj")]
    public async Task Dotnet_run_starts_in_the_invoking_directory_when_the_project_is_elsewhere(string project)
    {
        // dotnet run used the project's folder as working directory: ./data became Silo/data, which git did not ignore.
        using var caller = new TempDirectory("run-cwd");
        var (exit, output) = await RunAsync("dotnet", caller.Path, "msbuild", Path.Combine(ReadmeTests.RepositoryRoot(), project), "-getProperty:RunWorkingDirectory");

        Assert.True(exit == 0, output);
        Assert.Equal(Path.GetFullPath(caller.Path).TrimEnd('/'), output.Trim().TrimEnd('/'));
    }

    [Fact]
    public async Task Git_ignores_shard_data_wherever_a_silo_or_the_sample_writes_it()
    {
        var root = ReadmeTests.RepositoryRoot();
        string[] paths = ["data/acme/items.db", "Silo/data/acme/items.db-wal", "samples/CoHosted/cohosted-data/acme/notes.db", "cohosted-data/.silo/reminders.db"];

        var (exit, output) = await RunAsync("git", root, ["check-ignore", "--no-index", .. paths]);

        Assert.True(exit == 0, "git check-ignore: " + output);
        Assert.All(paths, p => Assert.Contains(p, output, StringComparison.Ordinal));
    }

    private static async Task<(int Exit, string Output)> RunAsync(string file, string directory, params string[] args)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        return (process.ExitCode, await stdout + await stderr);
    }
}

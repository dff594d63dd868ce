using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Reports;

namespace OrleansShards.Benchmarks;

/// <summary>The one configuration every benchmark shares: memory diagnoser, ops/s and ratio columns.</summary>
public static class BenchmarkConfig
{
    public static IConfig Create() => DefaultConfig.Instance
        .AddDiagnoser(MemoryDiagnoser.Default)
        .AddColumn(StatisticColumn.OperationsPerSecond)
        .AddColumn(BaselineRatioColumn.RatioMean)
        .WithSummaryStyle(SummaryStyle.Default.WithRatioStyle(RatioStyle.Value))
        .WithOptions(ConfigOptions.JoinSummary);
}

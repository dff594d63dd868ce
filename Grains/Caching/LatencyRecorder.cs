namespace OrleansShards.Grains.Caching;

/// <summary>The last <c>capacity</c> latency samples of one shard, for p50/p95/p99 in stats.</summary>
internal sealed class LatencyRecorder(int capacity = 2048)
{
    private readonly double[] _samples = new double[capacity];
    private long _count;

    public void Record(double milliseconds)
    {
        lock (_samples)
        {
            _samples[_count++ % _samples.Length] = milliseconds;
        }
    }

    public (double P50, double P95, double P99) Percentiles()
    {
        double[] copy;
        lock (_samples)
        {
            copy = _samples.AsSpan(0, (int)Math.Min(_count, _samples.Length)).ToArray();
        }

        if (copy.Length == 0)
        {
            return (0, 0, 0);
        }

        Array.Sort(copy);
        return (At(0.50), At(0.95), At(0.99));

        double At(double q) => copy[Math.Min(copy.Length - 1, (int)Math.Ceiling(q * copy.Length) - 1)];
    }
}

namespace OrleansShards.Tests.Storage.Native;

/// <summary>A clock that advances by a fixed step each time it is read: deterministic deadlines, no sleeps.</summary>
public sealed class SteppingTimeProvider(long ticksPerRead) : TimeProvider
{
    private long _now;

    public int Reads { get; private set; }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp()
    {
        Reads++;
        var now = _now;
        _now += ticksPerRead;
        return now;
    }
}

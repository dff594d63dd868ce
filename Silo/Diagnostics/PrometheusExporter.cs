using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace OrleansShards.Silo.Diagnostics;

/// <summary>
/// Collects every instrument of every meter whose name starts with <c>OrleansShards</c> (this host's
/// meters, made by its <see cref="IMeterFactory"/>, and unscoped ones) with a <see cref="MeterListener"/>,
/// and renders them in the Prometheus text exposition format 0.0.4: counters as <c>name_total</c>,
/// up-down counters and gauges as gauges, histograms as <c>_bucket</c>/<c>_sum</c>/<c>_count</c>.
/// Instrument names have dots (and anything else outside <c>[a-zA-Z0-9_:]</c>) replaced by underscores;
/// tags become labels.
/// </summary>
internal sealed class PrometheusExporter : IDisposable
{
    public const string MeterPrefix = "OrleansShards";
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly double[] DefaultBuckets = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    private readonly IMeterFactory _meterFactory;
    private readonly MeterListener _listener;
    private readonly ConcurrentDictionary<Instrument, InstrumentState> _instruments = new();
    private readonly Lock _scrapeLock = new();

    public PrometheusExporter(IMeterFactory meterFactory)
    {
        _meterFactory = meterFactory;
        _listener = new MeterListener
        {
            InstrumentPublished = OnInstrumentPublished,
            MeasurementsCompleted = (instrument, _) => _instruments.TryRemove(instrument, out InstrumentState? _),
        };
        _listener.SetMeasurementEventCallback<long>((i, v, t, s) => ((InstrumentState)s!).Record(v, t));
        _listener.SetMeasurementEventCallback<int>((i, v, t, s) => ((InstrumentState)s!).Record(v, t));
        _listener.SetMeasurementEventCallback<short>((i, v, t, s) => ((InstrumentState)s!).Record(v, t));
        _listener.SetMeasurementEventCallback<byte>((i, v, t, s) => ((InstrumentState)s!).Record(v, t));
        _listener.SetMeasurementEventCallback<double>((i, v, t, s) => ((InstrumentState)s!).Record(v, t));
        _listener.SetMeasurementEventCallback<float>((i, v, t, s) => ((InstrumentState)s!).Record(v, t));
        _listener.SetMeasurementEventCallback<decimal>((i, v, t, s) => ((InstrumentState)s!).Record((double)v, t));
        _listener.Start();
    }

    /// <summary>Renders every collected series (observable instruments are measured now).</summary>
    public string Scrape()
    {
        lock (_scrapeLock)
        {
            foreach (var state in _instruments.Values)
            {
                if (state.IsObservable)
                {
                    state.Clear();
                }
            }

            _listener.RecordObservableInstruments();
            var text = new StringBuilder();
            foreach (var family in _instruments.Values.GroupBy(s => s.Name, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var first = family.First();
                if (!string.IsNullOrEmpty(first.Description))
                {
                    text.Append("# HELP ").Append(first.Name).Append(' ').Append(EscapeHelp(first.Description)).Append('\n');
                }

                text.Append("# TYPE ").Append(first.Name).Append(' ').Append(first.TypeName).Append('\n');
                foreach (var state in family)
                {
                    state.Render(text);
                }
            }

            return text.ToString();
        }
    }

    public void Dispose() => _listener.Dispose();

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        var meter = instrument.Meter;
        if (!meter.Name.StartsWith(MeterPrefix, StringComparison.Ordinal)
            || (meter.Scope is not null && !ReferenceEquals(meter.Scope, _meterFactory)))
        {
            return;
        }

        var state = new InstrumentState(instrument);
        _instruments[instrument] = state;
        listener.EnableMeasurementEvents(instrument, state);
    }

    /// <summary>A metric name: <c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>, dots and other characters become underscores.</summary>
    internal static string SanitizeName(string name, bool allowColon = true)
    {
        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            var ok = char.IsAsciiLetter(c) || c == '_' || (allowColon && c == ':') || (i > 0 && char.IsAsciiDigit(c));
            if (!ok)
            {
                chars[i] = '_';
            }
        }

        return chars.Length == 0 ? "_" : new string(chars);
    }

    /// <summary>Label value escaping: backslash, double quote and line feed.</summary>
    internal static string EscapeLabelValue(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string EscapeHelp(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    internal static string FormatValue(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(value) => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private enum Kind
    {
        Counter,
        ObservableCounter,
        UpDownCounter,
        ObservableGauge,
        Histogram,
    }

    private sealed class InstrumentState
    {
        private readonly Kind _kind;
        private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);

        // The hot path: a measurement's tags, as given, find their series without formatting or allocating
        // (the label text is built once per distinct tag set; tag sets in another order share its series).
        private readonly ConcurrentDictionary<TagSet, Series> _byTags = new(TagSetComparer.Instance);
        private readonly ConcurrentDictionary<TagSet, Series>.AlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>> _byTagsLookup;

        public InstrumentState(Instrument instrument)
        {
            var definition = instrument.GetType().IsGenericType ? instrument.GetType().GetGenericTypeDefinition() : instrument.GetType();
            _kind = definition == typeof(Counter<>) ? Kind.Counter
                : definition == typeof(ObservableCounter<>) ? Kind.ObservableCounter
                : definition == typeof(UpDownCounter<>) ? Kind.UpDownCounter
                : definition == typeof(Histogram<>) ? Kind.Histogram
                : Kind.ObservableGauge; // ObservableGauge<>, ObservableUpDownCounter<>, Gauge<>: last value wins
            var baseName = SanitizeName(instrument.Name);
            Name = _kind is Kind.Counter or Kind.ObservableCounter && !baseName.EndsWith("_total", StringComparison.Ordinal)
                ? baseName + "_total"
                : baseName;
            TypeName = _kind switch
            {
                Kind.Counter or Kind.ObservableCounter => "counter",
                Kind.Histogram => "histogram",
                _ => "gauge",
            };
            Description = instrument.Description;
            IsObservable = instrument.IsObservable;
            _byTagsLookup = _byTags.GetAlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>>();
        }

        public string Name { get; }

        public string TypeName { get; }

        public string? Description { get; }

        public bool IsObservable { get; }

        public void Clear()
        {
            _byTags.Clear();
            _series.Clear();
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (!_byTagsLookup.TryGetValue(tags, out var series))
            {
                series = _series.GetOrAdd(FormatLabels(tags), static (_, kind) => new Series(kind == Kind.Histogram ? DefaultBuckets : null), _kind);
                _byTags.TryAdd(new TagSet(tags.ToArray()), series);
            }

            lock (series)
            {
                switch (_kind)
                {
                    case Kind.Counter:
                    case Kind.UpDownCounter:
                        series.Value += value;
                        break;
                    case Kind.Histogram:
                        series.Observe(value);
                        break;
                    default:
                        series.Value = value;
                        break;
                }
            }
        }

        public void Render(StringBuilder text)
        {
            foreach (var (labels, series) in _series.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                lock (series)
                {
                    if (_kind != Kind.Histogram)
                    {
                        text.Append(Name).Append(Braced(labels, null)).Append(' ').Append(FormatValue(series.Value)).Append('\n');
                        continue;
                    }

                    long cumulative = 0;
                    for (var i = 0; i < series.Bounds!.Length; i++)
                    {
                        cumulative += series.BucketCounts![i];
                        text.Append(Name).Append("_bucket").Append(Braced(labels, FormatValue(series.Bounds[i])))
                            .Append(' ').Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
                    }

                    text.Append(Name).Append("_bucket").Append(Braced(labels, "+Inf")).Append(' ').Append(series.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
                    text.Append(Name).Append("_sum").Append(Braced(labels, null)).Append(' ').Append(FormatValue(series.Value)).Append('\n');
                    text.Append(Name).Append("_count").Append(Braced(labels, null)).Append(' ').Append(series.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
                }
            }
        }

        private static string Braced(string labels, string? le)
        {
            if (le is null)
            {
                return labels.Length == 0 ? string.Empty : "{" + labels + "}";
            }

            var bound = "le=\"" + le + "\"";
            return "{" + (labels.Length == 0 ? bound : labels + "," + bound) + "}";
        }

        private static string FormatLabels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length == 0)
            {
                return string.Empty;
            }

            var pairs = new KeyValuePair<string, string>[tags.Length];
            for (var i = 0; i < tags.Length; i++)
            {
                var value = tags[i].Value is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : tags[i].Value?.ToString() ?? string.Empty;
                pairs[i] = new(SanitizeName(tags[i].Key, allowColon: false), value);
            }

            Array.Sort(pairs, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
            var text = new StringBuilder();
            foreach (var (key, value) in pairs)
            {
                if (text.Length > 0)
                {
                    text.Append(',');
                }

                text.Append(key).Append("=\"").Append(EscapeLabelValue(value)).Append('"');
            }

            return text.ToString();
        }
    }

    /// <summary>A measurement's tags as they were given (order kept).</summary>
    private sealed class TagSet(KeyValuePair<string, object?>[] tags)
    {
        public KeyValuePair<string, object?>[] Tags { get; } = tags;

        public int Hash { get; } = TagSetComparer.HashOf(tags);
    }

    /// <summary>Compares tag sets pairwise (key, then value by <see cref="object.Equals(object?, object?)"/>), also against a span of tags.</summary>
    private sealed class TagSetComparer : IEqualityComparer<TagSet>, IAlternateEqualityComparer<ReadOnlySpan<KeyValuePair<string, object?>>, TagSet>
    {
        public static readonly TagSetComparer Instance = new();

        public static int HashOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var hash = new HashCode();
            foreach (var (key, value) in tags)
            {
                hash.Add(key, StringComparer.Ordinal);
                hash.Add(value);
            }

            return hash.ToHashCode();
        }

        public bool Equals(TagSet? x, TagSet? y) => ReferenceEquals(x, y) || (x is not null && y is not null && Equals(new ReadOnlySpan<KeyValuePair<string, object?>>(x.Tags), y));

        public int GetHashCode(TagSet obj) => obj.Hash;

        public bool Equals(ReadOnlySpan<KeyValuePair<string, object?>> alternate, TagSet other)
        {
            var tags = other.Tags;
            if (alternate.Length != tags.Length)
            {
                return false;
            }

            for (var i = 0; i < tags.Length; i++)
            {
                if (!string.Equals(alternate[i].Key, tags[i].Key, StringComparison.Ordinal) || !object.Equals(alternate[i].Value, tags[i].Value))
                {
                    return false;
                }
            }

            return true;
        }

        public int GetHashCode(ReadOnlySpan<KeyValuePair<string, object?>> alternate) => HashOf(alternate);

        public TagSet Create(ReadOnlySpan<KeyValuePair<string, object?>> alternate) => new(alternate.ToArray());
    }

    private sealed class Series(double[]? bounds)
    {
        public double[]? Bounds { get; } = bounds;

        public long[]? BucketCounts { get; } = bounds is null ? null : new long[bounds.Length];

        /// <summary>The value (counters, gauges) or the sum (histograms).</summary>
        public double Value { get; set; }

        public long Count { get; private set; }

        public void Observe(double value)
        {
            Value += value;
            Count++;
            var i = 0;
            while (i < Bounds!.Length && value > Bounds[i])
            {
                i++;
            }

            if (i < Bounds.Length)
            {
                BucketCounts![i]++;
            }
        }
    }
}

using Persona.Abstractions;
using Persona.Core.State;

namespace Persona.Core.Profiles;

public sealed partial class ProfileState
{
    /// <summary>
    /// Version of <see cref="Encode"/>'s layout. Raise it whenever the fields or their order change: a record of
    /// another version is never read, the shopper's state is rebuilt from the log instead.
    /// </summary>
    public const byte RecordFormat = 2;

    /// <summary>The state as a self-checking record (format byte, body, xxHash64): what a checkpoint stores per shopper.</summary>
    public byte[] Encode()
    {
        var w = new StateWriter();
        w.WriteCount(ThroughSequence);
        w.WriteCount(AppliedEvents);
        w.WriteCount(CountedEvents);
        w.WriteCount(ExcludedEvents);
        w.WriteCount(ActivityEvents);
        w.WriteCount(Purchases);
        w.WriteCount(MobileEvents);
        w.WriteDecimal(_monetary);
        w.WriteInt64(_latestTicks);
        w.WriteInt64(_firstTicks);
        w.WriteInt64(_lastTicks);
        w.WriteInt64(_lastPurchaseTicks);
        w.WriteInt64(_latestReceivedTicks);
        w.WriteCount(_localNight);
        w.WriteCount(_localWeekend);
        w.WriteCount(_typeCounts.Length);
        foreach (var count in _typeCounts) w.WriteCount(count);
        foreach (var count in _hours) w.WriteCount(count);
        foreach (var count in _weekdays) w.WriteCount(count);
        WriteScores(w, _categories);
        WriteScores(w, _brands);
        foreach (var band in _bands)
        {
            w.WriteCount(band is null ? 0 : 1);
            band?.Write(w);
        }
        _activeDays.Write(w);
        _recent.Write(w);
        _devices.Write(w);
        _channels.Write(w);
        foreach (var evidence in EvidenceLists()) evidence.Write(w);
        _buy.Write(w);
        _intent.Write(w);
        _browse.Write(w);
        _steps.Write(w);
        return w.ToArray(RecordFormat);
    }

    /// <summary>
    /// The state a record holds, or null when the record is damaged, of another <see cref="RecordFormat"/>, or does not
    /// fit <paramref name="options"/> (more evidence or keys than they allow): the caller then rebuilds from the log.
    /// </summary>
    public static ProfileState? Decode(byte[]? record, ProfileOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (StateReader.Open(record, RecordFormat) is not { } r) return null;
        try
        {
            var k = options.MaxEvidence;
            var state = new ProfileState(options)
            {
                ThroughSequence = r.ReadLongCount(),
                AppliedEvents = r.ReadLongCount(),
                CountedEvents = r.ReadLongCount(),
                ExcludedEvents = r.ReadLongCount(),
                ActivityEvents = r.ReadLongCount(),
                Purchases = r.ReadLongCount(),
                MobileEvents = r.ReadLongCount(),
                _monetary = r.ReadDecimal(),
                _latestTicks = r.ReadInt64(),
                _firstTicks = r.ReadInt64(),
                _lastTicks = r.ReadInt64(),
                _lastPurchaseTicks = r.ReadInt64(),
                _latestReceivedTicks = r.ReadInt64(),
                _localNight = r.ReadCount(maximum: int.MaxValue),
                _localWeekend = r.ReadCount(maximum: int.MaxValue),
            };
            if (r.ReadCount(maximum: 256) != state._typeCounts.Length) return null;
            for (var i = 0; i < state._typeCounts.Length; i++) state._typeCounts[i] = r.ReadLongCount();
            for (var i = 0; i < state._hours.Length; i++) state._hours[i] = r.ReadCount(maximum: int.MaxValue);
            for (var i = 0; i < state._weekdays.Length; i++) state._weekdays[i] = r.ReadCount(maximum: int.MaxValue);
            ReadScores(r, state._categories, k);
            ReadScores(r, state._brands, k);
            for (var i = 0; i < state._bands.Length; i++)
                state._bands[i] = r.ReadCount(maximum: 1) == 0 ? null : DecayedScore.Read(r, k);
            state._activeDays = DaySet.Read(r);
            state._recent = DayRing.Read(r);
            state._devices = KeyCounts.Read(r, options.MaxTrackedKeys);
            state._channels = KeyCounts.Read(r, options.MaxTrackedKeys);
            state._activityEvidence = RecentEvidence.Read(r, k);
            state._purchaseEvidence = RecentEvidence.Read(r, k);
            state._buyEvidence = RecentEvidence.Read(r, k);
            state._intentEvidence = RecentEvidence.Read(r, k);
            state._browseEvidence = RecentEvidence.Read(r, k);
            state._nightEvidence = RecentEvidence.Read(r, k);
            state._weekendEvidence = RecentEvidence.Read(r, k);
            state._mobileEvidence = RecentEvidence.Read(r, k);
            state._buy = PercentileStats.Read(r);
            state._intent = PercentileStats.Read(r);
            state._browse = PercentileStats.Read(r);
            state._steps = ShopperSteps.Read(r, options.RecentSteps, options.SeenItems);
            return r.AtEnd ? state : null;
        }
        catch (Exception ex) when (ex is InvalidDataException or OverflowException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>
    /// The sequence a record reaches and its newest event time, read from its head once its checksum holds: what a start
    /// needs to leave the shopper cold. False when the record is damaged or of another <see cref="RecordFormat"/>.
    /// </summary>
    public static bool TryPeek(byte[]? record, out long throughSequence, out long latestTicks)
    {
        throughSequence = 0;
        latestTicks = long.MinValue;
        if (StateReader.Open(record, RecordFormat) is not { } r) return false;
        try
        {
            throughSequence = r.ReadLongCount();
            for (var i = 0; i < 6; i++) r.ReadLongCount();
            r.ReadDecimal();
            latestTicks = r.ReadInt64();
            return true;
        }
        catch (Exception ex) when (ex is InvalidDataException or OverflowException or IndexOutOfRangeException)
        {
            return false;
        }
    }

    /// <summary>
    /// A fingerprint of the options that shape a state as events are applied (decay, weights, bounds, time zone,
    /// mobile devices): states built under other options are rebuilt, not reused.
    /// </summary>
    public static string OptionsFingerprint(ProfileOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var w = new StateWriter();
        w.WriteDouble(options.DecayPerDay);
        foreach (var type in Enum.GetValues<EventType>())
        {
            w.WriteString(type.ToWire());
            w.WriteDouble(options.WeightOf(type));
        }
        w.WriteInt64(options.UtcOffset.Ticks);
        w.WriteCount(options.MaxEvidence);
        w.WriteCount(options.MinPeersForPercentile);
        w.WriteCount(options.MaxTrackedKeys);
        w.WriteCount(options.RecentSteps);
        w.WriteCount(options.SeenItems);
        foreach (var device in options.MobileDevices.Order(StringComparer.Ordinal)) w.WriteString(device);
        var record = w.ToArray(RecordFormat);
        return $"profile-v{RecordFormat}-{Convert.ToHexStringLower(record.AsSpan(record.Length - 8))}";
    }

    private RecentEvidence[] EvidenceLists() =>
    [
        _activityEvidence, _purchaseEvidence, _buyEvidence, _intentEvidence,
        _browseEvidence, _nightEvidence, _weekendEvidence, _mobileEvidence,
    ];

    private static void WriteScores(StateWriter w, Dictionary<string, DecayedScore> scores)
    {
        w.WriteCount(scores.Count);
        foreach (var (key, score) in scores)
        {
            w.WriteString(key);
            score.Write(w);
        }
    }

    private static void ReadScores(StateReader r, Dictionary<string, DecayedScore> scores, int evidenceCapacity)
    {
        var count = r.ReadCount(maximum: 1 << 20);
        for (var i = 0; i < count; i++)
        {
            // Category keys and brands come from the catalog (bounded), so one shared instance each: every decoded
            // record would otherwise hold its own copies, as states built from events never do.
            var key = string.Intern(r.ReadString());
            if (!scores.TryAdd(key, DecayedScore.Read(r, evidenceCapacity))) throw new InvalidDataException($"Key '{key}' appears twice in a state record.");
        }
    }
}

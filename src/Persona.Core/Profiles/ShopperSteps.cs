using Persona.Abstractions;
using Persona.Core.Retrieval;
using Persona.Core.State;

namespace Persona.Core.Profiles;

/// <summary>
/// One shopper's recent item steps (time order, the newest <see cref="ProfileOptions.RecentSteps"/>) and the items they
/// recently interacted with (first-sight order, the newest <see cref="ProfileOptions.SeenItems"/>): the one recent-step
/// store that recommendations (anchors, "exclude seen", the user's sequence embedding) and search re-ranking read. It is
/// part of the shopper's <see cref="ProfileState"/>, so it is written in the same record and goes cold with it.
/// </summary>
/// <remarks>
/// Compact (docs/state.md): items are interned to ints (<see cref="Items"/>), a step is 16 bytes in a flat array and
/// the seen items a ring of ints, so 50 steps and 500 seen items cost about 2.8 KB. Steps follow the order events are
/// applied in (the log's sequence order): a step older than the newest is inserted in time order, and one older than
/// everything kept when full is dropped. Not thread-safe: the owning state's lock guards it.
/// </remarks>
public sealed class ShopperSteps
{
    /// <summary>Item ids of every shopper's steps, numbered once per process, so a state can move between books unchanged.</summary>
    public static KeyInterner Items { get; } = new();

    private readonly int _maxSteps;
    private readonly int _maxSeen;
    private PackedStep[] _steps = [];
    private int _stepCount;
    // Ring of interned ids, oldest at _seenStart; it only wraps once it holds _maxSeen.
    private int[] _seen = [];
    private int _seenStart;
    private int _seenCount;

    public ShopperSteps(int maxSteps, int maxSeen)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSteps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSeen, 1);
        _maxSteps = maxSteps;
        _maxSeen = maxSeen;
    }

    public int StepCount => _stepCount;
    public int SeenCount => _seenCount;

    /// <summary>Heap bytes of the arrays (for the hot-state budget).</summary>
    public int EstimatedBytes => _steps.Length * 16 + _seen.Length * 4 + (_steps.Length > 0 ? 32 : 0) + (_seen.Length > 0 ? 32 : 0);

    /// <summary>Whether a stored event is an item step: counted (not excluded), about an item, neither an impression nor a search.</summary>
    public static bool IsStep(StoredEvent e) =>
        e.ItemId is not null && e.ExcludedReason is null && e.Type is not (EventType.Impression or EventType.Search);

    /// <summary>UTC ticks of the newest step; <see cref="long.MinValue"/> when none.</summary>
    public long NewestTicks => _stepCount == 0 ? long.MinValue : _steps[_stepCount - 1].UtcTicks;

    /// <summary>Records an item step: inserted in time order, the oldest forgotten beyond the bound.</summary>
    public void Add(string itemId, EventType type, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(itemId);
        Add(PackedStep.From(Items.Intern(itemId), type, timestamp));
    }

    private void Add(PackedStep step)
    {
        var at = _stepCount;
        while (at > 0 && _steps[at - 1].UtcTicks > step.UtcTicks) at--;
        if (at == 0 && _stepCount == _maxSteps) return; // older than everything kept
        if (_stepCount == _steps.Length) Array.Resize(ref _steps, Math.Min(_maxSteps + 1, Math.Max(4, _steps.Length * 2)));
        Array.Copy(_steps, at, _steps, at + 1, _stepCount - at);
        _steps[at] = step;
        if (++_stepCount > _maxSteps)
        {
            Array.Copy(_steps, 1, _steps, 0, _maxSteps);
            _stepCount = _maxSteps;
        }
        if (!SeenContains(step.Item)) PushSeen(step.Item);
    }

    private bool SeenContains(int item)
    {
        for (var i = 0; i < _seenCount; i++)
            if (_seen[(_seenStart + i) % _seen.Length] == item) return true;
        return false;
    }

    private void PushSeen(int item)
    {
        if (_seenCount == _seen.Length && _seen.Length < _maxSeen)
        {
            var grown = new int[Math.Min(_maxSeen, Math.Max(4, _seen.Length * 2))];
            for (var i = 0; i < _seenCount; i++) grown[i] = _seen[(_seenStart + i) % _seen.Length];
            _seen = grown;
            _seenStart = 0;
        }
        if (_seenCount < _seen.Length)
        {
            _seen[(_seenStart + _seenCount++) % _seen.Length] = item;
            return;
        }
        // Full at the bound: the oldest gives way.
        _seen[_seenStart] = item;
        _seenStart = (_seenStart + 1) % _seen.Length;
    }

    /// <summary>The newest <paramref name="max"/> steps (all by default), oldest first, as a copy.</summary>
    public BehaviorStep[] Recent(int max = int.MaxValue)
    {
        var count = Math.Min(Math.Max(0, max), _stepCount);
        var steps = new BehaviorStep[count];
        for (var i = 0; i < count; i++)
        {
            var step = _steps[_stepCount - count + i];
            steps[i] = new BehaviorStep(Items.KeyOf(step.Item), step.Type, step.Timestamp);
        }
        return steps;
    }

    /// <summary>The items seen, as a copy.</summary>
    public HashSet<string> Seen()
    {
        var seen = new HashSet<string>(_seenCount, StringComparer.Ordinal);
        for (var i = 0; i < _seenCount; i++) seen.Add(Items.KeyOf(_seen[(_seenStart + i) % _seen.Length]));
        return seen;
    }

    public ShopperSteps Clone() => new(_maxSteps, _maxSeen)
    {
        _steps = (PackedStep[])_steps.Clone(),
        _stepCount = _stepCount,
        _seen = (int[])_seen.Clone(),
        _seenStart = _seenStart,
        _seenCount = _seenCount,
    };

    /// <summary>Steps then seen items (oldest first), item ids through the record's string table.</summary>
    public void Write(StateWriter w)
    {
        w.WriteCount(_stepCount);
        for (var i = 0; i < _stepCount; i++)
        {
            var step = _steps[i];
            w.WriteString(Items.KeyOf(step.Item));
            w.WriteCount((int)step.Type);
            w.WriteInt64(step.UtcTicks);
            w.WriteSigned(step.OffsetMinutes);
        }
        w.WriteCount(_seenCount);
        for (var i = 0; i < _seenCount; i++) w.WriteString(Items.KeyOf(_seen[(_seenStart + i) % _seen.Length]));
    }

    /// <summary>Reads what <see cref="Write"/> wrote; throws <see cref="InvalidDataException"/> when it breaks the bounds or the time order.</summary>
    public static ShopperSteps Read(StateReader r, int maxSteps, int maxSeen)
    {
        var steps = new ShopperSteps(maxSteps, maxSeen);
        var count = r.ReadCount(maxSteps);
        steps._steps = new PackedStep[count];
        for (var i = 0; i < count; i++)
        {
            var item = Items.Intern(r.ReadString());
            var type = (EventType)r.ReadCount(int.MaxValue);
            if (!Enum.IsDefined(type)) throw new InvalidDataException($"Unknown event type {(int)type} in a recent step.");
            var ticks = r.ReadInt64();
            var offset = r.ReadSigned();
            if (offset is < -14 * 60 or > 14 * 60 || ticks < 0 || ticks > DateTimeOffset.MaxValue.UtcTicks)
                throw new InvalidDataException("A recent step's timestamp is out of range.");
            if (i > 0 && ticks < steps._steps[i - 1].UtcTicks) throw new InvalidDataException("Recent steps are out of time order.");
            steps._steps[i] = new PackedStep(item, type, (short)offset, ticks);
        }
        steps._stepCount = count;
        var seen = r.ReadCount(maxSeen);
        steps._seen = new int[seen];
        for (var i = 0; i < seen; i++) steps._seen[i] = Items.Intern(r.ReadString());
        steps._seenCount = seen;
        return steps;
    }
}

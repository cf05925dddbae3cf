using Persona.Abstractions;
using Persona.Core.Profiles;
using Persona.Core.State;

namespace Persona.Hosting.Cluster;

/// <summary>
/// The shop clock of a cluster node. On one node the clock comes from the shoppers' states (<see cref="ProfileBook.DataClock"/>);
/// a cluster node holds only the shoppers whose grains are active on it, so it keeps every shopper's newest event time
/// from the log it follows instead, and every node (and a single-node rebuild) then reads the same clock. A state part,
/// so a restart restores it and reads only the log after it.
/// </summary>
internal sealed class LogClockPart(int quorum) : IStatePartObserver
{
    private const byte PartFormat = 1;

    private readonly Lock _lock = new();
    private Dictionary<string, long> _newest = new(StringComparer.Ordinal);
    private ShopClock _clock = new(quorum);

    public DateTimeOffset? Now => _clock.Now;

    public string PartName => "shop-clock";

    public string PartFingerprint => $"shop-clock/{PartFormat}/quorum={quorum}";

    public void PrepareStart(IReadOnlyList<Item> items, IReadOnlyList<User> users) { }

    public bool TryRestore(byte[] data)
    {
        if (StateReader.Open(data, PartFormat) is not { } reader) return false;
        var newest = new Dictionary<string, long>(StringComparer.Ordinal);
        var clock = new ShopClock(quorum);
        try
        {
            var count = reader.ReadLongCount();
            for (var i = 0L; i < count; i++)
            {
                var user = reader.ReadString();
                var ticks = reader.ReadSigned();
                if (!newest.TryAdd(user, ticks)) return false;
                clock.Move(null, new DateTimeOffset(ticks, TimeSpan.Zero));
            }
            if (!reader.AtEnd) return false;
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException or OverflowException)
        {
            return false;
        }
        lock (_lock) (_newest, _clock) = (newest, clock);
        return true;
    }

    public void ReplayStored(IReadOnlyList<StoredEvent> events) => OnEventsStored(events);

    public void CompleteStart() { }

    public byte[] Encode()
    {
        var writer = new StateWriter();
        lock (_lock)
        {
            writer.WriteCount(_newest.Count);
            foreach (var (user, ticks) in _newest)
            {
                writer.WriteString(user);
                writer.WriteSigned(ticks);
            }
        }
        return writer.ToArray(PartFormat);
    }

    public void OnEventsStored(IReadOnlyList<StoredEvent> events)
    {
        lock (_lock)
        {
            foreach (var e in events)
            {
                var ticks = e.Timestamp.UtcTicks;
                if (_newest.TryGetValue(e.UserId, out var old))
                {
                    if (ticks <= old) continue;
                    _clock.Move(new DateTimeOffset(old, TimeSpan.Zero), e.Timestamp);
                }
                else _clock.Move(null, e.Timestamp);
                _newest[e.UserId] = ticks;
            }
        }
    }

    public void OnItemsUpserted(IReadOnlyList<Item> items) { }

    public string? OnUserErased(string userId)
    {
        lock (_lock)
        {
            if (!_newest.Remove(userId, out var ticks)) return null;
            _clock.Move(new DateTimeOffset(ticks, TimeSpan.Zero), null);
        }
        return "shop clock: the shopper's newest event time";
    }
}

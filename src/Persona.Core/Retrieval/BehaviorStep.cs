using Persona.Abstractions;

namespace Persona.Core.Retrieval;

/// <summary>One item event of a user as recommendations read it.</summary>
public readonly record struct BehaviorStep(string ItemId, EventType Type, DateTimeOffset Timestamp);

/// <summary>
/// An item step as per-shopper state holds it: the item interned (<see cref="State.KeyInterner"/>), the type, and the
/// timestamp as UTC ticks plus its offset in minutes: 16 bytes, no string per step.
/// </summary>
public readonly record struct PackedStep(int Item, EventType Type, short OffsetMinutes, long UtcTicks)
{
    public static PackedStep From(int item, EventType type, DateTimeOffset at) => new(item, type, (short)at.Offset.TotalMinutes, at.UtcTicks);

    public DateTimeOffset Timestamp
    {
        get
        {
            var offset = TimeSpan.FromMinutes(OffsetMinutes);
            return new DateTimeOffset(UtcTicks + offset.Ticks, offset);
        }
    }
}

using System.Diagnostics.CodeAnalysis;

namespace Persona.Abstractions;

/// <summary>The kinds of behaviour a shop reports. Wire names are snake_case (<c>add_to_cart</c>).</summary>
public enum EventType
{
    View,
    Click,
    Search,
    AddToCart,
    Favorite,
    Purchase,
    Rate,
    Review,
    Impression,
}

public static class EventTypes
{
    private static readonly string[] WireNames =
        ["view", "click", "search", "add_to_cart", "favorite", "purchase", "rate", "review", "impression"];

    /// <summary>All wire names, in enum order.</summary>
    public static IReadOnlyList<string> All => WireNames;

    public static string ToWire(this EventType type) => WireNames[(int)type];

    public static bool TryParse(string? wire, [NotNullWhen(true)] out EventType? type)
    {
        type = null;
        if (wire is null) return false;
        var index = Array.IndexOf(WireNames, wire.Trim().ToLowerInvariant());
        if (index < 0) return false;
        type = (EventType)index;
        return true;
    }
}

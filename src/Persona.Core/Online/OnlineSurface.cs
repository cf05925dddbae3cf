using System.Diagnostics.CodeAnalysis;

namespace Persona.Core.Online;

/// <summary>Where an answer was shown. Wire names: <c>recommendations</c>, <c>similar</c>, <c>search</c>.</summary>
public enum OnlineSurface : byte
{
    Recommendations,
    Similar,
    Search,
}

public static class OnlineSurfaces
{
    private static readonly string[] WireNames = ["recommendations", "similar", "search"];

    public static IReadOnlyList<string> All => WireNames;

    public static string ToWire(this OnlineSurface surface) => WireNames[(int)surface];

    public static bool TryParse([NotNullWhen(true)] string? wire, out OnlineSurface surface)
    {
        surface = default;
        if (wire is null) return false;
        var index = Array.IndexOf(WireNames, wire.Trim().ToLowerInvariant());
        if (index < 0) return false;
        surface = (OnlineSurface)index;
        return true;
    }
}

/// <summary>
/// The position groups figures are counted in: the first slot, the rest of the first row, the first screen, below it.
/// </summary>
public static class PositionBuckets
{
    public const byte Unknown = 0;
    private static readonly string[] Names = ["unknown", "1", "2-3", "4-10", "11+"];

    public static IReadOnlyList<string> All => Names;

    /// <summary>The bucket of a 1-based position.</summary>
    public static byte Of(int position) => position switch
    {
        <= 0 => Unknown,
        1 => 1,
        <= 3 => 2,
        <= 10 => 3,
        _ => 4,
    };

    public static string Name(byte bucket) => Names[bucket];
}

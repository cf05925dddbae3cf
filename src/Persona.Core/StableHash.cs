namespace Persona.Core;

/// <summary>A string hash that is the same in every process (string.GetHashCode is randomised per process), for seeding.</summary>
public static class StableHash
{
    /// <summary>FNV-1a over the UTF-16 code units.</summary>
    public static int Of(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var h = 2166136261u;
        foreach (var ch in s) h = (h ^ ch) * 16777619u;
        return (int)h;
    }
}

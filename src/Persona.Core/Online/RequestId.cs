using System.Diagnostics.CodeAnalysis;

namespace Persona.Core.Online;

/// <summary>
/// The id of one served answer (recommendations, similar items or a search), which impressions, clicks, carts and
/// purchases may point back to: <c>rq_</c>, 10 characters of milliseconds since 1970 (48 bits) and 13 of random bits
/// (64), in lower-case Crockford base32, so ids sort by time and their age is read without a lookup.
/// </summary>
public readonly record struct RequestId(long Millis, ulong Random)
{
    public const string Prefix = "rq_";
    public const int Length = 26;
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
    private const long MaxMillis = (1L << 48) - 1;

    public static RequestId New(DateTimeOffset now) =>
        new(Math.Clamp(now.ToUnixTimeMilliseconds(), 0, MaxMillis), (ulong)System.Random.Shared.NextInt64() ^ ((ulong)System.Random.Shared.Next() << 63));

    public DateTimeOffset Time => DateTimeOffset.FromUnixTimeMilliseconds(Millis);

    public override string ToString() => string.Create(Length, this, static (span, id) =>
    {
        Prefix.AsSpan().CopyTo(span);
        Encode(span.Slice(3, 10), (ulong)id.Millis);
        // 13 characters carry 65 bits: the top one is always 0.
        Encode(span.Slice(13, 13), id.Random);
    });

    public static bool TryParse([NotNullWhen(true)] string? text, out RequestId id)
    {
        id = default;
        if (text is null || text.Length != Length || !text.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        if (!TryDecode(text.AsSpan(3, 10), out var millis) || millis > MaxMillis) return false;
        if (!TryDecode(text.AsSpan(13, 13), out var random, allowOverflowBit: true)) return false;
        id = new RequestId((long)millis, random);
        return true;
    }

    private static void Encode(Span<char> into, ulong value)
    {
        for (var i = into.Length - 1; i >= 0; i--)
        {
            into[i] = Alphabet[(int)(value & 31)];
            value >>= 5;
        }
    }

    private static bool TryDecode(ReadOnlySpan<char> text, out ulong value, bool allowOverflowBit = false)
    {
        value = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var digit = Alphabet.IndexOf(char.ToLowerInvariant(text[i]));
            if (digit < 0) return false;
            // The 13-character half may only use the low 64 of its 65 bits.
            if (i == 0 && allowOverflowBit && digit > 15) return false;
            value = (value << 5) | (uint)digit;
        }
        return true;
    }
}

using System.Buffers;
using System.Buffers.Binary;

namespace Persona.Core.State;

/// <summary>
/// LEB128 varints and zig-zag signed values, and the xxHash64 trailer that seals a stored record: the encoding shared by
/// shopper state records (<see cref="StateWriter"/>) and refresh result rows (<c>ShopperResults</c>).
/// </summary>
internal static class Varint
{
    public static void Write(IBufferWriter<byte> target, ulong value)
    {
        var span = target.GetSpan(10);
        var n = 0;
        while (value >= 0x80)
        {
            span[n++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[n++] = (byte)value;
        target.Advance(n);
    }

    public static void WriteSigned(IBufferWriter<byte> target, long value) => Write(target, (ulong)((value << 1) ^ (value >> 63)));

    /// <summary>Reads a varint at <paramref name="position"/>; a truncated or over-long one throws <see cref="InvalidDataException"/>.</summary>
    public static ulong Read(ReadOnlySpan<byte> span, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= span.Length) throw new InvalidDataException("The record ends inside a varint.");
            var b = span[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new InvalidDataException("A varint in the record is too long.");
    }

    public static long ReadSigned(ReadOnlySpan<byte> span, ref int position)
    {
        var value = Read(span, ref position);
        return (long)(value >> 1) ^ -(long)(value & 1);
    }

    /// <summary>Writes the xxHash64 of <paramref name="record"/>[..^8] into its last 8 bytes.</summary>
    public static void Seal(Span<byte> record) =>
        BinaryPrimitives.WriteUInt64LittleEndian(record[^8..], System.IO.Hashing.XxHash64.HashToUInt64(record[..^8]));

    /// <summary>Whether the last 8 bytes of <paramref name="record"/> are the xxHash64 of the rest (a sealed record of at least 9 bytes).</summary>
    public static bool IsSealed(ReadOnlySpan<byte> record) =>
        record.Length > 8 && System.IO.Hashing.XxHash64.HashToUInt64(record[..^8]) == BinaryPrimitives.ReadUInt64LittleEndian(record[^8..]);
}

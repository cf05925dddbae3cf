using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Persona.Core.State;

/// <summary>
/// Appends a derived-state record: little-endian fixed-width numbers, 7-bit varints, and strings by index into a
/// per-record string table (event ids and category keys repeat across a shopper's evidence lists, so each is
/// written once). Call <see cref="ToArray"/> once the record is complete.
/// </summary>
public sealed class StateWriter
{
    private readonly ArrayBufferWriter<byte> _body = new(512);
    private readonly Dictionary<string, int> _strings = new(StringComparer.Ordinal);
    private readonly List<string> _stringOrder = [];

    public void WriteByte(byte value)
    {
        _body.GetSpan(1)[0] = value;
        _body.Advance(1);
    }

    public void WriteInt64(long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(_body.GetSpan(8), value);
        _body.Advance(8);
    }

    public void WriteDouble(double value) => WriteInt64(BitConverter.DoubleToInt64Bits(value));

    public void WriteSingle(float value)
    {
        BinaryPrimitives.WriteSingleLittleEndian(_body.GetSpan(4), value);
        _body.Advance(4);
    }

    public void WriteDecimal(decimal value)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        foreach (var part in bits) WriteInt64(part);
    }

    /// <summary>A non-negative count or index, 1 byte below 128.</summary>
    public void WriteCount(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        Varint.Write(_body, (ulong)value);
    }

    /// <summary>A signed number, zig-zag encoded (small magnitudes are short).</summary>
    public void WriteSigned(long value) => Varint.WriteSigned(_body, value);

    public void WriteString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!_strings.TryGetValue(value, out var index))
        {
            index = _stringOrder.Count;
            _strings.Add(value, index);
            _stringOrder.Add(value);
        }
        WriteCount(index);
    }

    public void WriteNullableString(string? value)
    {
        if (value is null) WriteCount(0);
        else
        {
            WriteCount(1);
            WriteString(value);
        }
    }

    /// <summary>The record: format byte, string table, body, then an xxHash64 of everything before it.</summary>
    public byte[] ToArray(byte format)
    {
        var table = new ArrayBufferWriter<byte>(64 + _stringOrder.Count * 24);
        Varint.Write(table, (ulong)_stringOrder.Count);
        foreach (var s in _stringOrder)
        {
            var length = Encoding.UTF8.GetByteCount(s);
            Varint.Write(table, (ulong)length);
            Encoding.UTF8.GetBytes(s, table.GetSpan(length));
            table.Advance(length);
        }
        var record = new byte[1 + table.WrittenCount + _body.WrittenCount + 8];
        record[0] = format;
        table.WrittenSpan.CopyTo(record.AsSpan(1));
        _body.WrittenSpan.CopyTo(record.AsSpan(1 + table.WrittenCount));
        Varint.Seal(record);
        return record;
    }
}

/// <summary>Reads what <see cref="StateWriter"/> wrote; any inconsistency throws <see cref="InvalidDataException"/>.</summary>
public sealed class StateReader
{
    private readonly byte[] _data;
    private readonly int _end;
    private readonly string[] _strings;
    private int _position;

    private StateReader(byte[] data, int position, int end, string[] strings)
    {
        _data = data;
        _position = position;
        _end = end;
        _strings = strings;
    }

    /// <summary>
    /// Opens a record when its checksum holds and its format is <paramref name="format"/>; otherwise null (the
    /// caller rebuilds the state from the log rather than misread it).
    /// </summary>
    public static StateReader? Open(byte[]? record, byte format)
    {
        if (record is null || record.Length < 1 + 1 + 8 || record[0] != format || !Varint.IsSealed(record)) return null;
        var end = record.Length - 8;
        try
        {
            var reader = new StateReader(record, 1, end, []);
            var count = reader.ReadCount(maximum: end);
            var strings = new string[count];
            for (var i = 0; i < count; i++)
            {
                var length = reader.ReadCount(maximum: end - reader._position);
                strings[i] = Encoding.UTF8.GetString(record, reader._position, length);
                reader._position += length;
            }
            return new StateReader(record, reader._position, end, strings);
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>True when every byte of the body was read (a record must be consumed exactly).</summary>
    public bool AtEnd => _position == _end;

    public byte ReadByte()
    {
        Need(1);
        return _data[_position++];
    }

    public long ReadInt64()
    {
        Need(8);
        var value = BinaryPrimitives.ReadInt64LittleEndian(_data.AsSpan(_position));
        _position += 8;
        return value;
    }

    public double ReadDouble() => BitConverter.Int64BitsToDouble(ReadInt64());

    public float ReadSingle()
    {
        Need(4);
        var value = BinaryPrimitives.ReadSingleLittleEndian(_data.AsSpan(_position));
        _position += 4;
        return value;
    }

    public decimal ReadDecimal()
    {
        Span<int> bits = stackalloc int[4];
        for (var i = 0; i < 4; i++) bits[i] = checked((int)ReadInt64());
        try
        {
            return new decimal(bits);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException("A decimal in the state record is malformed.", ex);
        }
    }

    public int ReadCount(int maximum)
    {
        var value = ReadVarint();
        return maximum >= 0 && value <= (ulong)maximum ? (int)value : throw new InvalidDataException($"A count in the state record ({value}) exceeds {maximum}.");
    }

    public long ReadLongCount()
    {
        var value = ReadVarint();
        return value <= long.MaxValue ? (long)value : throw new InvalidDataException("A count in the state record is negative.");
    }

    public long ReadSigned() => Varint.ReadSigned(_data.AsSpan(0, _end), ref _position);

    private ulong ReadVarint() => Varint.Read(_data.AsSpan(0, _end), ref _position);

    public string ReadString() => _strings[ReadCount(maximum: _strings.Length - 1)];

    /// <summary>Strings in the record's table; <see cref="ReadStringIndex"/> reads an index below it.</summary>
    public int StringCount => _strings.Length;

    /// <summary>Reads a string as its index in the table, for callers that map each distinct string once.</summary>
    public int ReadStringIndex() => ReadCount(maximum: _strings.Length - 1);

    public string StringAt(int index) => _strings[index];

    public string? ReadNullableString() => ReadCount(maximum: 1) == 0 ? null : ReadString();

    private void Need(int bytes)
    {
        if (_position + bytes > _end) throw new InvalidDataException("The state record ends early.");
    }
}

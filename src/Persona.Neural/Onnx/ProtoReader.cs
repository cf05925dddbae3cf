namespace Persona.Neural.Onnx;

/// <summary>
/// Reads protobuf wire format field by field: just enough for ONNX's ModelProto without a generated client or a
/// package. Unknown fields are skipped, so newer ONNX files with fields we do not need still read.
/// </summary>
internal ref struct ProtoReader(ReadOnlySpan<byte> data, int baseOffset)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    /// <summary>Wire type of the field just read by <see cref="TryReadTag"/>.</summary>
    public int WireType { get; private set; }

    /// <summary>Offset of the next byte within the whole message buffer (for slicing without copies).</summary>
    public readonly int AbsolutePosition => baseOffset + _position;

    /// <summary>Reads the next field's tag; false at the end of the message.</summary>
    public bool TryReadTag(out int field)
    {
        if (_position >= _data.Length)
        {
            field = 0;
            return false;
        }

        ulong tag = ReadVarint();
        field = (int)(tag >> 3);
        WireType = (int)(tag & 7);
        return true;
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _data.Length)
            {
                throw new InvalidDataException("Truncated protobuf varint.");
            }

            byte b = _data[_position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw new InvalidDataException("Malformed protobuf varint.");
    }

    public long ReadInt64() => (long)ReadVarint();

    public float ReadFixed32Float()
    {
        var bytes = Take(4);
        return BitConverter.ToSingle(bytes);
    }

    /// <summary>A length-delimited field's bytes and their offset in the whole buffer.</summary>
    public ReadOnlySpan<byte> ReadBytes(out int absoluteOffset)
    {
        int length = checked((int)ReadVarint());
        absoluteOffset = AbsolutePosition;
        return Take(length);
    }

    public ReadOnlySpan<byte> ReadBytes() => ReadBytes(out _);

    public string ReadString() => System.Text.Encoding.UTF8.GetString(ReadBytes());

    /// <summary>Reads an int64 repeated field, packed or not.</summary>
    public void ReadInt64s(List<long> into)
    {
        if (WireType == 2)
        {
            var inner = new ProtoReader(ReadBytes(), 0);
            while (inner._position < inner._data.Length)
            {
                into.Add(inner.ReadInt64());
            }
        }
        else
        {
            into.Add(ReadInt64());
        }
    }

    /// <summary>Reads a float repeated field, packed or not.</summary>
    public void ReadFloats(List<float> into)
    {
        if (WireType == 2)
        {
            var bytes = ReadBytes();
            for (int i = 0; i + 4 <= bytes.Length; i += 4)
            {
                into.Add(BitConverter.ToSingle(bytes.Slice(i, 4)));
            }
        }
        else
        {
            into.Add(ReadFixed32Float());
        }
    }

    public void Skip()
    {
        switch (WireType)
        {
            case 0:
                ReadVarint();
                break;
            case 1:
                Take(8);
                break;
            case 2:
                ReadBytes();
                break;
            case 5:
                Take(4);
                break;
            default:
                throw new InvalidDataException($"Unsupported protobuf wire type {WireType}.");
        }
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || _position + count > _data.Length)
        {
            throw new InvalidDataException("Truncated protobuf message.");
        }

        var slice = _data.Slice(_position, count);
        _position += count;
        return slice;
    }
}

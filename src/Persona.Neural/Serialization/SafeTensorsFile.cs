using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace Persona.Neural.Serialization;

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length, a UTF-8 JSON header
/// (<c>{"__metadata__": {..}, "name": {"dtype", "shape", "data_offsets": [begin, end]}, ..}</c>) and the raw
/// little-endian tensor bytes. Reading converts every supported dtype to float32 and streams tensor by tensor,
/// so files larger than 2 GB load as long as each tensor fits a float array.
/// </summary>
public sealed class SafeTensorsFile
{
    /// <summary>Largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    // Elements converted per read; 1 Mi elements keeps the staging buffer at ≤ 8 MB.
    private const int ChunkElements = 1 << 20;

    private readonly Dictionary<string, SafeTensor> _tensors;

    private SafeTensorsFile(string path, IReadOnlyDictionary<string, string> metadata, Dictionary<string, SafeTensor> tensors)
    {
        Path = path;
        Metadata = metadata;
        _tensors = tensors;
    }

    /// <summary>The file this was read from.</summary>
    public string Path { get; }

    /// <summary>The header's <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Loaded tensors by name, in file order.</summary>
    public IReadOnlyDictionary<string, SafeTensor> Tensors => _tensors;

    /// <summary>Tensor names in file order.</summary>
    public IEnumerable<string> Names => _tensors.Keys;

    /// <summary>The named tensor; throws <see cref="KeyNotFoundException"/> naming the file when absent.</summary>
    public SafeTensor this[string name] =>
        _tensors.TryGetValue(name, out var tensor)
            ? tensor
            : throw new KeyNotFoundException($"Tensor '{name}' is not in '{Path}'.");

    /// <summary>True when the file holds (and this read loaded) the named tensor.</summary>
    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>Looks a tensor up by name.</summary>
    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out SafeTensor tensor) =>
        _tensors.TryGetValue(name, out tensor);

    /// <summary>Reads every tensor of a file, converting to float32.</summary>
    public static SafeTensorsFile Read(string path) => Read(path, include: null);

    /// <summary>Reads the tensors whose names <paramref name="include"/> accepts (all when null).</summary>
    /// <exception cref="InvalidDataException">The file is not well-formed safetensors.</exception>
    public static SafeTensorsFile Read(string path, Func<string, bool>? include)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        var header = ReadHeader(handle, path);
        var tensors = new Dictionary<string, SafeTensor>(header.Tensors.Count, StringComparer.Ordinal);
        byte[]? staging = null;
        try
        {
            foreach (var info in header.Tensors)
            {
                if (include is not null && !include(info.Name))
                {
                    continue;
                }

                long count = info.ElementCount;
                if (count > Array.MaxLength)
                {
                    throw new InvalidDataException(
                        $"Tensor '{info.Name}' in '{path}' has {count} elements, more than one float array can hold.");
                }

                var data = new float[count];
                ReadElements(handle, header.DataStart + info.DataBegin, info.DType, data, ref staging);
                tensors.Add(info.Name, new SafeTensor(info.Name, info.DType, info.Shape, data));
            }
        }
        finally
        {
            if (staging is not null)
            {
                ArrayPool<byte>.Shared.Return(staging);
            }
        }

        return new SafeTensorsFile(path, header.Metadata, tensors);
    }

    /// <summary>Parses and validates only the header (no tensor data is read).</summary>
    /// <exception cref="InvalidDataException">The file is not well-formed safetensors.</exception>
    public static SafeTensorsHeader ReadHeader(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return ReadHeader(handle, path);
    }

    /// <summary>
    /// Writes float32 tensors in name order, the header padded with spaces to a multiple of 8 bytes so that the
    /// data section is 8-byte aligned. The file is written beside the target and moved into place, so a reader
    /// never sees a half-written checkpoint.
    /// </summary>
    public static void Write(
        string path,
        IReadOnlyDictionary<string, (int[] Shape, float[] Data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);

        var names = tensors.Keys.ToArray();
        Array.Sort(names, StringComparer.Ordinal);
        var headerBytes = BuildHeader(names, tensors, metadata);

        string fullPath = System.IO.Path.GetFullPath(path);
        string? directory = System.IO.Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        string temp = fullPath + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Span<byte> prefix = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)headerBytes.Length);
                stream.Write(prefix);
                stream.Write(headerBytes);
                foreach (var name in names)
                {
                    WriteFloats(stream, tensors[name].Data);
                }

                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    internal static long ElementCount(int[] shape)
    {
        long count = 1;
        foreach (var dim in shape)
        {
            count = checked(count * dim);
        }

        return count;
    }

    private static byte[] BuildHeader(
        string[] names,
        IReadOnlyDictionary<string, (int[] Shape, float[] Data)> tensors,
        IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (var name in names)
            {
                if (name.Length == 0 || name == MetadataKey)
                {
                    throw new ArgumentException($"'{name}' cannot be a tensor name.", nameof(tensors));
                }

                var (shape, data) = tensors[name];
                ArgumentNullException.ThrowIfNull(shape, $"{nameof(tensors)}[{name}].Shape");
                ArgumentNullException.ThrowIfNull(data, $"{nameof(tensors)}[{name}].Data");
                if (shape.Any(d => d < 0))
                {
                    throw new ArgumentException($"Tensor '{name}' has a negative dimension.", nameof(tensors));
                }

                if (ElementCount(shape) != data.Length)
                {
                    throw new ArgumentException(
                        $"Tensor '{name}': shape [{string.Join(", ", shape)}] needs {ElementCount(shape)} elements, data has {data.Length}.",
                        nameof(tensors));
                }

                long end = offset + (long)data.Length * sizeof(float);
                json.WriteStartObject(name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (var dim in shape)
                {
                    json.WriteNumberValue(dim);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(end);
                json.WriteEndArray();
                json.WriteEndObject();
                offset = end;
            }

            json.WriteEndObject();
        }

        // Pad with spaces (valid JSON whitespace) so the data section starts 8-byte aligned.
        int padded = (buffer.WrittenCount + 7) & ~7;
        var bytes = new byte[padded];
        buffer.WrittenSpan.CopyTo(bytes);
        bytes.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return bytes;
    }

    private static void WriteFloats(Stream stream, float[] data)
    {
        if (BitConverter.IsLittleEndian)
        {
            // Chunks keep every byte span under int.MaxValue for very large tensors.
            for (int start = 0; start < data.Length; start += ChunkElements)
            {
                int n = Math.Min(ChunkElements, data.Length - start);
                stream.Write(MemoryMarshal.AsBytes(data.AsSpan(start, n)));
            }

            return;
        }

        var scratch = new byte[Math.Min(data.Length, ChunkElements) * sizeof(float)];
        for (int start = 0; start < data.Length; start += ChunkElements)
        {
            int n = Math.Min(ChunkElements, data.Length - start);
            for (int i = 0; i < n; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(scratch.AsSpan(i * sizeof(float)), data[start + i]);
            }

            stream.Write(scratch, 0, n * sizeof(float));
        }
    }

    private static SafeTensorsHeader ReadHeader(SafeFileHandle handle, string path)
    {
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < 8)
        {
            throw new InvalidDataException($"'{path}' is {fileLength} bytes long, too short for a safetensors header length.");
        }

        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(handle, prefix, 0, path);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)MaxHeaderBytes)
        {
            throw new InvalidDataException(
                $"'{path}' declares a {headerLength}-byte header, over the {MaxHeaderBytes}-byte limit (not a safetensors file?).");
        }

        if ((long)headerLength > fileLength - 8)
        {
            throw new InvalidDataException(
                $"'{path}' declares a {headerLength}-byte header but only {fileLength - 8} bytes follow the length prefix.");
        }

        var headerBytes = new byte[headerLength];
        ReadExactly(handle, headerBytes, 8, path);
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(headerBytes);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}': the header is not valid JSON ({e.Message}).", e);
        }

        using (document)
        {
            return ParseHeader(document.RootElement, path, dataStart, dataLength);
        }
    }

    private static SafeTensorsHeader ParseHeader(JsonElement root, string path, long dataStart, long dataLength)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"'{path}': the header must be a JSON object, found {root.ValueKind}.");
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var infos = new List<SafeTensorInfo>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            if (!seen.Add(property.Name))
            {
                throw new InvalidDataException($"'{path}': the header names '{property.Name}' twice.");
            }

            if (property.Name == MetadataKey)
            {
                ParseMetadata(property.Value, path, metadata);
                continue;
            }

            infos.Add(ParseEntry(property.Name, property.Value, path));
        }

        // The format requires the entries to tile the data section exactly: no gaps, no overlaps, no trailing bytes.
        infos.Sort((a, b) => a.DataBegin != b.DataBegin ? a.DataBegin.CompareTo(b.DataBegin) : a.DataEnd.CompareTo(b.DataEnd));
        long expected = 0;
        foreach (var info in infos)
        {
            if (info.DataBegin != expected)
            {
                throw new InvalidDataException(
                    $"'{path}': tensor '{info.Name}' starts at data offset {info.DataBegin}, expected {expected} " +
                    "(entries must cover the data section contiguously).");
            }

            expected = info.DataEnd;
        }

        if (expected != dataLength)
        {
            throw new InvalidDataException(
                $"'{path}': the tensors cover {expected} data bytes but the file holds {dataLength} after the header.");
        }

        return new SafeTensorsHeader(metadata, infos, dataStart);
    }

    private static void ParseMetadata(JsonElement value, string path, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"'{path}': '{MetadataKey}' must be an object of strings.");
        }

        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw new InvalidDataException(
                    $"'{path}': metadata '{entry.Name}' must be a string, found {entry.Value.ValueKind}.");
            }

            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    private static SafeTensorInfo ParseEntry(string name, JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"'{path}': the entry for tensor '{name}' must be an object.");
        }

        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw new InvalidDataException($"'{path}': tensor '{name}' has no string 'dtype'.");
        }

        string wire = dtypeElement.GetString()!;
        if (!SafeTensorDTypes.TryParse(wire, out var dtype))
        {
            throw new InvalidDataException($"'{path}': tensor '{name}' has unsupported dtype '{wire}'.");
        }

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"'{path}': tensor '{name}' has no 'shape' array.");
        }

        var shape = new int[shapeElement.GetArrayLength()];
        int d = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt32(out int size) || size < 0)
            {
                throw new InvalidDataException($"'{path}': tensor '{name}' has an invalid dimension '{dim.GetRawText()}'.");
            }

            shape[d++] = size;
        }

        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array ||
            offsets.GetArrayLength() != 2)
        {
            throw new InvalidDataException($"'{path}': tensor '{name}' needs 'data_offsets' as [begin, end].");
        }

        if (!offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end) || begin < 0 || end < begin)
        {
            throw new InvalidDataException(
                $"'{path}': tensor '{name}' has invalid data_offsets {offsets.GetRawText()} (need 0 <= begin <= end).");
        }

        long count;
        try
        {
            count = ElementCount(shape);
            long bytes = checked(count * SafeTensorDTypes.SizeOf(dtype));
            if (bytes != end - begin)
            {
                throw new InvalidDataException(
                    $"'{path}': tensor '{name}' ({wire} [{string.Join(", ", shape)}]) needs {bytes} bytes but its " +
                    $"data_offsets span {end - begin}.");
            }
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"'{path}': tensor '{name}' has a shape whose size overflows.");
        }

        return new SafeTensorInfo(name, dtype, shape, begin, end);
    }

    private static void ReadElements(SafeFileHandle handle, long offset, SafeTensorDType dtype, float[] destination, ref byte[]? staging)
    {
        if (dtype == SafeTensorDType.F32 && BitConverter.IsLittleEndian)
        {
            // Bytes land directly in the result: no staging copy for the common case.
            for (int start = 0; start < destination.Length; start += ChunkElements)
            {
                int n = Math.Min(ChunkElements, destination.Length - start);
                ReadExactly(handle, MemoryMarshal.AsBytes(destination.AsSpan(start, n)), offset + ((long)start * 4), null);
            }

            return;
        }

        int size = SafeTensorDTypes.SizeOf(dtype);
        staging ??= ArrayPool<byte>.Shared.Rent(ChunkElements * 8);
        for (int start = 0; start < destination.Length; start += ChunkElements)
        {
            int n = Math.Min(ChunkElements, destination.Length - start);
            var bytes = staging.AsSpan(0, n * size);
            ReadExactly(handle, bytes, offset + ((long)start * size), null);
            Convert(dtype, bytes, destination.AsSpan(start, n));
        }
    }

    // bytes: (n * size) little-endian elements → destination: (n) floats.
    private static void Convert(SafeTensorDType dtype, ReadOnlySpan<byte> bytes, Span<float> destination)
    {
        switch (dtype)
        {
            case SafeTensorDType.F32:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
                }

                break;
            case SafeTensorDType.F16:
                if (BitConverter.IsLittleEndian)
                {
                    System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(bytes), destination);
                }
                else
                {
                    for (int i = 0; i < destination.Length; i++)
                    {
                        destination[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(i * 2)..]);
                    }
                }

                break;
            case SafeTensorDType.BF16:
                // bfloat16 is the high half of a float32's bits.
                for (int i = 0; i < destination.Length; i++)
                {
                    uint bits = (uint)BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]) << 16;
                    destination[i] = BitConverter.UInt32BitsToSingle(bits);
                }

                break;
            case SafeTensorDType.F64:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(i * 8)..]);
                }

                break;
            case SafeTensorDType.I64:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes[(i * 8)..]);
                }

                break;
            case SafeTensorDType.U64:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = BinaryPrimitives.ReadUInt64LittleEndian(bytes[(i * 8)..]);
                }

                break;
            case SafeTensorDType.I32:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(i * 4)..]);
                }

                break;
            case SafeTensorDType.U32:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(i * 4)..]);
                }

                break;
            case SafeTensorDType.I16:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = BinaryPrimitives.ReadInt16LittleEndian(bytes[(i * 2)..]);
                }

                break;
            case SafeTensorDType.U16:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]);
                }

                break;
            case SafeTensorDType.I8:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = (sbyte)bytes[i];
                }

                break;
            case SafeTensorDType.U8:
            case SafeTensorDType.Bool:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = bytes[i];
                }

                break;
            default:
                throw new InvalidDataException($"Cannot convert dtype {dtype}.");
        }
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset, string? path)
    {
        while (!buffer.IsEmpty)
        {
            int read = RandomAccess.Read(handle, buffer, offset);
            if (read == 0)
            {
                throw new InvalidDataException($"Unexpected end of file{(path is null ? "" : $" in '{path}'")} at byte {offset}.");
            }

            buffer = buffer[read..];
            offset += read;
        }
    }
}

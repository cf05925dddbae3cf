using System.Runtime.InteropServices;

namespace Persona.Neural.Onnx;

/// <summary>ONNX TensorProto element types this reader converts.</summary>
public enum OnnxDataType
{
    Undefined = 0,
    Float = 1,
    Int32 = 6,
    Int64 = 7,
    Double = 11,
}

/// <summary>
/// A constant tensor of an ONNX graph (an initializer or a <c>Constant</c> node's value). Its bytes stay in the model
/// buffer until <see cref="ToFloats"/> or <see cref="ToInt64s"/> copies them out.
/// </summary>
public sealed class OnnxTensor
{
    private readonly ReadOnlyMemory<byte> _raw;
    private readonly float[]? _floats;
    private readonly long[]? _longs;

    internal OnnxTensor(string name, long[] dims, int dataType, ReadOnlyMemory<byte> raw, float[]? floats, long[]? longs)
    {
        Name = name;
        Dims = dims;
        DataType = dataType;
        _raw = raw;
        _floats = floats;
        _longs = longs;
    }

    public string Name { get; }

    internal OnnxTensor WithName(string name) => new(name, [.. Dims], DataType, _raw, _floats, _longs);

    /// <summary>Dimensions, outermost first; empty for a scalar.</summary>
    public IReadOnlyList<long> Dims { get; }

    /// <summary>TensorProto.DataType code (1 float, 6 int32, 7 int64, 11 double, ...).</summary>
    public int DataType { get; }

    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (long d in Dims)
            {
                count *= d;
            }

            return count;
        }
    }

    /// <summary>True when the shape is exactly <paramref name="shape"/>.</summary>
    public bool HasShape(params long[] shape) => Dims.SequenceEqual(shape);

    /// <summary>The elements as float32, row-major.</summary>
    public float[] ToFloats()
    {
        if (_floats is { Length: > 0 })
        {
            return (float[])_floats.Clone();
        }

        var raw = _raw.Span;
        return (OnnxDataType)DataType switch
        {
            OnnxDataType.Float => MemoryMarshal.Cast<byte, float>(raw).ToArray(),
            OnnxDataType.Double => Array.ConvertAll(MemoryMarshal.Cast<byte, double>(raw).ToArray(), v => (float)v),
            OnnxDataType.Int64 when _longs is not null || raw.Length > 0 => Array.ConvertAll(ToInt64s(), v => (float)v),
            _ => throw new InvalidDataException($"ONNX tensor '{Name}': data type {DataType} cannot be read as float."),
        };
    }

    /// <summary>The elements as int64 (int32 and int64 tensors).</summary>
    public long[] ToInt64s()
    {
        if (_longs is { Length: > 0 })
        {
            return (long[])_longs.Clone();
        }

        var raw = _raw.Span;
        return (OnnxDataType)DataType switch
        {
            OnnxDataType.Int64 => MemoryMarshal.Cast<byte, long>(raw).ToArray(),
            OnnxDataType.Int32 => Array.ConvertAll(MemoryMarshal.Cast<byte, int>(raw).ToArray(), v => (long)v),
            _ => throw new InvalidDataException($"ONNX tensor '{Name}': data type {DataType} cannot be read as int64."),
        };
    }
}

/// <summary>One operator of the graph.</summary>
public sealed record OnnxNode(
    string Name,
    string OpType,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<string> Outputs,
    IReadOnlyDictionary<string, OnnxAttribute> Attributes);

/// <summary>A node attribute: a float, an int, a string, a tensor or lists of ints/floats.</summary>
public sealed record OnnxAttribute(string Name, float? Float, long? Int, string? String, OnnxTensor? Tensor, IReadOnlyList<long> Ints, IReadOnlyList<float> Floats);

/// <summary>
/// The parts of an ONNX ModelProto that weight extraction needs: the graph's nodes (in their stored, topological
/// order), its constant tensors and the names of its inputs and outputs. Reads in-memory bytes without copying tensor
/// data; external-data tensors (models over 2 GB) are not supported.
/// </summary>
public sealed class OnnxModel
{
    private OnnxModel(
        long irVersion, IReadOnlyList<OnnxNode> nodes, IReadOnlyDictionary<string, OnnxTensor> constants,
        IReadOnlyList<string> inputs, IReadOnlyList<string> outputs)
    {
        IrVersion = irVersion;
        Nodes = nodes;
        Constants = constants;
        Inputs = inputs;
        Outputs = outputs;
    }

    public long IrVersion { get; }

    /// <summary>Nodes in the order the file stores them (ONNX requires topological order).</summary>
    public IReadOnlyList<OnnxNode> Nodes { get; }

    /// <summary>Initializers and <c>Constant</c> node outputs, by tensor name.</summary>
    public IReadOnlyDictionary<string, OnnxTensor> Constants { get; }

    /// <summary>Graph inputs that are not initializers (e.g. <c>input_ids</c>).</summary>
    public IReadOnlyList<string> Inputs { get; }

    public IReadOnlyList<string> Outputs { get; }

    /// <summary>Reads an ONNX file.</summary>
    public static OnnxModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses ONNX bytes; <paramref name="source"/> names them in errors.</summary>
    public static OnnxModel Parse(ReadOnlyMemory<byte> bytes, string source = "model")
    {
        try
        {
            return ParseModel(bytes);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{source}' is not a readable ONNX model: {e.Message}", e);
        }
    }

    private static OnnxModel ParseModel(ReadOnlyMemory<byte> bytes)
    {
        long irVersion = 0;
        ReadOnlyMemory<byte>? graph = null;
        var reader = new ProtoReader(bytes.Span, 0);
        while (reader.TryReadTag(out int field))
        {
            if (field == 1 && reader.WireType == 0)
            {
                irVersion = reader.ReadInt64();
            }
            else if (field == 7 && reader.WireType == 2)
            {
                int length = reader.ReadBytes(out int offset).Length;
                graph = bytes.Slice(offset, length);
            }
            else
            {
                reader.Skip();
            }
        }

        if (graph is null || irVersion == 0)
        {
            throw new InvalidDataException("no ModelProto graph or ir_version.");
        }

        var nodes = new List<OnnxNode>();
        var constants = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        var inputs = new List<string>();
        var outputs = new List<string>();
        var g = new ProtoReader(graph.Value.Span, 0);
        while (g.TryReadTag(out int field))
        {
            if (g.WireType != 2)
            {
                g.Skip();
                continue;
            }

            int length = g.ReadBytes(out int offset).Length;
            var slice = graph.Value.Slice(offset, length);
            switch (field)
            {
                case 1:
                    nodes.Add(ParseNode(slice));
                    break;
                case 5:
                    var tensor = ParseTensor(slice);
                    constants[tensor.Name] = tensor;
                    break;
                case 11:
                    inputs.Add(ParseValueInfoName(slice.Span));
                    break;
                case 12:
                    outputs.Add(ParseValueInfoName(slice.Span));
                    break;
            }
        }

        foreach (var node in nodes)
        {
            if (node.OpType == "Constant" && node.Outputs.Count == 1 &&
                node.Attributes.TryGetValue("value", out var value) && value.Tensor is { } t)
            {
                constants[node.Outputs[0]] = t.WithName(node.Outputs[0]);
            }
        }

        inputs.RemoveAll(constants.ContainsKey);
        return new OnnxModel(irVersion, nodes, constants, inputs, outputs);
    }

    private static string ParseValueInfoName(ReadOnlySpan<byte> bytes)
    {
        var reader = new ProtoReader(bytes, 0);
        while (reader.TryReadTag(out int field))
        {
            if (field == 1 && reader.WireType == 2)
            {
                return reader.ReadString();
            }

            reader.Skip();
        }

        return "";
    }

    private static OnnxNode ParseNode(ReadOnlyMemory<byte> bytes)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        var attributes = new Dictionary<string, OnnxAttribute>(StringComparer.Ordinal);
        string name = "", op = "";
        var reader = new ProtoReader(bytes.Span, 0);
        while (reader.TryReadTag(out int field))
        {
            switch (field)
            {
                case 1 when reader.WireType == 2:
                    inputs.Add(reader.ReadString());
                    break;
                case 2 when reader.WireType == 2:
                    outputs.Add(reader.ReadString());
                    break;
                case 3 when reader.WireType == 2:
                    name = reader.ReadString();
                    break;
                case 4 when reader.WireType == 2:
                    op = reader.ReadString();
                    break;
                case 5 when reader.WireType == 2:
                    int length = reader.ReadBytes(out int offset).Length;
                    var attribute = ParseAttribute(bytes.Slice(offset, length));
                    attributes[attribute.Name] = attribute;
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new OnnxNode(name, op, inputs, outputs, attributes);
    }

    private static OnnxAttribute ParseAttribute(ReadOnlyMemory<byte> bytes)
    {
        string name = "";
        float? f = null;
        long? i = null;
        string? s = null;
        OnnxTensor? t = null;
        var ints = new List<long>();
        var floats = new List<float>();
        var reader = new ProtoReader(bytes.Span, 0);
        while (reader.TryReadTag(out int field))
        {
            switch (field)
            {
                case 1 when reader.WireType == 2:
                    name = reader.ReadString();
                    break;
                case 2 when reader.WireType == 5:
                    f = reader.ReadFixed32Float();
                    break;
                case 3 when reader.WireType == 0:
                    i = reader.ReadInt64();
                    break;
                case 4 when reader.WireType == 2:
                    s = reader.ReadString();
                    break;
                case 5 when reader.WireType == 2:
                    int length = reader.ReadBytes(out int offset).Length;
                    t = ParseTensor(bytes.Slice(offset, length));
                    break;
                case 7:
                    reader.ReadFloats(floats);
                    break;
                case 8:
                    reader.ReadInt64s(ints);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new OnnxAttribute(name, f, i, s, t, ints, floats);
    }

    private static OnnxTensor ParseTensor(ReadOnlyMemory<byte> bytes)
    {
        var dims = new List<long>();
        var floats = new List<float>();
        var longs = new List<long>();
        int dataType = 0;
        string name = "";
        ReadOnlyMemory<byte> raw = default;
        bool external = false;
        var reader = new ProtoReader(bytes.Span, 0);
        while (reader.TryReadTag(out int field))
        {
            switch (field)
            {
                case 1:
                    reader.ReadInt64s(dims);
                    break;
                case 2 when reader.WireType == 0:
                    dataType = (int)reader.ReadVarint();
                    break;
                case 4:
                    reader.ReadFloats(floats);
                    break;
                case 5 or 7:
                    // int32_data and int64_data are both varints.
                    reader.ReadInt64s(longs);
                    break;
                case 8 when reader.WireType == 2:
                    name = reader.ReadString();
                    break;
                case 9 when reader.WireType == 2:
                    int length = reader.ReadBytes(out int offset).Length;
                    raw = bytes.Slice(offset, length);
                    break;
                case 14 when reader.WireType == 0:
                    external = reader.ReadVarint() == 1;
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        if (external)
        {
            throw new InvalidDataException($"tensor '{name}' keeps its data in an external file, which is not supported.");
        }

        return new OnnxTensor(name, [.. dims], dataType, raw, floats.Count > 0 ? [.. floats] : null, longs.Count > 0 ? [.. longs] : null);
    }
}

namespace Persona.Neural.Serialization;

/// <summary>A tensor's header entry: where its bytes lie relative to the start of the data section.</summary>
/// <param name="Name">Tensor name, e.g. <c>encoder.layer.0.attention.self.query.weight</c>.</param>
/// <param name="DType">Stored element type.</param>
/// <param name="Shape">Dimensions, outermost first; empty for a scalar.</param>
/// <param name="DataBegin">First byte, relative to the data section.</param>
/// <param name="DataEnd">One past the last byte, relative to the data section.</param>
public sealed record SafeTensorInfo(string Name, SafeTensorDType DType, int[] Shape, long DataBegin, long DataEnd)
{
    /// <summary>Product of the dimensions (1 for a scalar).</summary>
    public long ElementCount => SafeTensorsFile.ElementCount(Shape);
}

/// <summary>A tensor read from a safetensors file, converted to float32 whatever its stored type.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="DType">The type the file stored (the data is always float32 here).</param>
/// <param name="Shape">Dimensions, outermost first; empty for a scalar.</param>
/// <param name="Data">Row-major elements.</param>
public sealed record SafeTensor(string Name, SafeTensorDType DType, int[] Shape, float[] Data)
{
    /// <summary>Number of elements.</summary>
    public int ElementCount => Data.Length;
}

/// <summary>The parsed header of a safetensors file, without the tensor data.</summary>
/// <param name="Metadata">The <c>__metadata__</c> string map (empty when absent).</param>
/// <param name="Tensors">Entries in data-offset order.</param>
/// <param name="DataStart">Absolute file offset of the data section (8 + header length).</param>
public sealed record SafeTensorsHeader(
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyList<SafeTensorInfo> Tensors,
    long DataStart);

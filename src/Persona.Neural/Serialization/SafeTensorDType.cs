namespace Persona.Neural.Serialization;

/// <summary>Element types of the safetensors format (the names match the header's <c>dtype</c> strings).</summary>
public enum SafeTensorDType
{
    /// <summary>One byte, 0 or 1.</summary>
    Bool,
    U8,
    I8,
    I16,
    U16,
    /// <summary>IEEE 754 half precision.</summary>
    F16,
    /// <summary>bfloat16: the upper 16 bits of a float32.</summary>
    BF16,
    I32,
    U32,
    F32,
    F64,
    I64,
    U64,
}

/// <summary>Sizes and wire names of <see cref="SafeTensorDType"/>.</summary>
public static class SafeTensorDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.Bool or SafeTensorDType.U8 or SafeTensorDType.I8 => 1,
        SafeTensorDType.I16 or SafeTensorDType.U16 or SafeTensorDType.F16 or SafeTensorDType.BF16 => 2,
        SafeTensorDType.I32 or SafeTensorDType.U32 or SafeTensorDType.F32 => 4,
        SafeTensorDType.F64 or SafeTensorDType.I64 or SafeTensorDType.U64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype."),
    };

    /// <summary>The header string, e.g. <c>"F32"</c> or <c>"BOOL"</c>.</summary>
    public static string WireName(SafeTensorDType dtype) =>
        dtype == SafeTensorDType.Bool ? "BOOL" : dtype.ToString();

    /// <summary>Parses a header dtype string; false for types this reader cannot convert (e.g. F8_E4M3).</summary>
    public static bool TryParse(string wireName, out SafeTensorDType dtype)
    {
        switch (wireName)
        {
            case "BOOL": dtype = SafeTensorDType.Bool; return true;
            case "U8": dtype = SafeTensorDType.U8; return true;
            case "I8": dtype = SafeTensorDType.I8; return true;
            case "I16": dtype = SafeTensorDType.I16; return true;
            case "U16": dtype = SafeTensorDType.U16; return true;
            case "F16": dtype = SafeTensorDType.F16; return true;
            case "BF16": dtype = SafeTensorDType.BF16; return true;
            case "I32": dtype = SafeTensorDType.I32; return true;
            case "U32": dtype = SafeTensorDType.U32; return true;
            case "F32": dtype = SafeTensorDType.F32; return true;
            case "F64": dtype = SafeTensorDType.F64; return true;
            case "I64": dtype = SafeTensorDType.I64; return true;
            case "U64": dtype = SafeTensorDType.U64; return true;
            default: dtype = default; return false;
        }
    }
}

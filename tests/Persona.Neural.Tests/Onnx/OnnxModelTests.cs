using System.Text;
using Persona.Neural.Onnx;

namespace Persona.Neural.Tests.Onnx;

public sealed class OnnxModelTests
{
    [Fact]
    public void Parse_HandWrittenModel_ReadsNodesConstantsAndIo()
    {
        var graph = Concat(
            Message(1, Node("MatMul", "mm", ["x", "w"], ["y"], Message(5, Concat(Text(1, "alpha"), Fixed32(2, 0.5f))))),
            Message(1, Node("Constant", "c", [], ["k"], Message(5, Concat(Text(1, "value"), Message(5, Int64Tensor("", [2], [7, -3])))))),
            Message(5, RawFloatTensor("w", [2, 3], [1, 2, 3, 4, 5, 6])),
            Message(5, Concat(Packed(1, [3]), Varint(2, 1), Text(8, "b"), PackedFloats(4, [0.25f, -1f, 2f]))),
            Message(11, Text(1, "x")),
            Message(11, Text(1, "w")),
            Message(12, Text(1, "y")));
        var model = OnnxModel.Parse(Concat(Varint(1, 7), Text(2, "test"), Message(7, graph)));

        Assert.Equal(7, model.IrVersion);
        Assert.Equal(["x"], model.Inputs);   // "w" is an initializer, not an input to feed
        Assert.Equal(["y"], model.Outputs);
        Assert.Equal(["MatMul", "Constant"], model.Nodes.Select(n => n.OpType));
        Assert.Equal(0.5f, model.Nodes[0].Attributes["alpha"].Float);
        var w = model.Constants["w"];
        Assert.True(w.HasShape(2, 3));
        Assert.Equal([1f, 2, 3, 4, 5, 6], w.ToFloats());
        Assert.Equal([0.25f, -1f, 2f], model.Constants["b"].ToFloats());
        Assert.Equal([7L, -3L], model.Constants["k"].ToInt64s());
    }

    [Fact]
    public void Parse_ExternalData_IsRejectedNamingTheTensor()
    {
        var tensor = Concat(Packed(1, [1]), Varint(2, 1), Text(8, "big"), Varint(14, 1));
        var bytes = Concat(Varint(1, 7), Message(7, Message(5, tensor)));
        var error = Assert.Throws<InvalidDataException>(() => OnnxModel.Parse(bytes, "big.onnx"));
        Assert.Contains("big.onnx", error.Message);
        Assert.Contains("'big'", error.Message);
    }

    [Theory]
    [InlineData(new byte[] { 1, 2, 3 })]
    [InlineData(new byte[] { 0x3A, 0x10, 0x0A })]
    [InlineData(new byte[] { })]
    public void Parse_NotAModel_ThrowsNamingTheSource(byte[] bytes)
    {
        var error = Assert.Throws<InvalidDataException>(() => OnnxModel.Parse(bytes, "x.onnx"));
        Assert.Contains("'x.onnx'", error.Message);
    }

    // Protobuf wire-format writers, just enough to build ModelProto messages by hand.
    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    private static byte[] VarintBytes(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value != 0 ? (byte)(b | 0x80) : b);
        }
        while (value != 0);
        return [.. bytes];
    }

    private static byte[] Tag(int field, int wire) => VarintBytes((ulong)((field << 3) | wire));

    private static byte[] Varint(int field, long value) => Concat(Tag(field, 0), VarintBytes((ulong)value));

    private static byte[] Fixed32(int field, float value) => Concat(Tag(field, 5), BitConverter.GetBytes(value));

    private static byte[] Message(int field, byte[] body) => Concat(Tag(field, 2), VarintBytes((ulong)body.Length), body);

    private static byte[] Text(int field, string value) => Message(field, Encoding.UTF8.GetBytes(value));

    private static byte[] Packed(int field, long[] values) => Message(field, Concat([.. values.Select(v => VarintBytes((ulong)v))]));

    private static byte[] PackedFloats(int field, float[] values) => Message(field, Concat([.. values.Select(BitConverter.GetBytes)]));

    private static byte[] Node(string op, string name, string[] inputs, string[] outputs, byte[] attributes) =>
        Concat([.. inputs.Select(i => Text(1, i)), .. outputs.Select(o => Text(2, o)), Text(3, name), Text(4, op), attributes]);

    private static byte[] RawFloatTensor(string name, long[] dims, float[] values) =>
        Concat(Packed(1, dims), Varint(2, 1), Text(8, name), Message(9, Concat([.. values.Select(BitConverter.GetBytes)])));

    // int64_data (field 7), unpacked, as some exporters write it.
    private static byte[] Int64Tensor(string name, long[] dims, long[] values) =>
        Concat([Packed(1, dims), Varint(2, 7), Text(8, name), .. values.Select(v => Varint(7, v))]);
}

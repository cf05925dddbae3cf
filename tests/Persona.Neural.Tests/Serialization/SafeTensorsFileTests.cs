using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Persona.Neural.Serialization;
using Persona.Neural.Tests.Bert;

namespace Persona.Neural.Tests.Serialization;

public sealed class SafeTensorsFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("persona-safetensors-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Write_ThenRead_RoundTripsShapesDataAndMetadata()
    {
        var shapes = Gen.Choose(0, 3)
            .SelectMany(rank => Gen.ArrayOf(Gen.Choose(0, 5), rank))
            .Select(s => s);
        var cases = Gen.Zip(Gen.ArrayOf(shapes, 4), Gen.Choose(0, int.MaxValue - 1)).ToArbitrary();
        int n = 0;
        Prop.ForAll(cases, c =>
        {
            var (shapeList, seed) = c;
            var random = new Random(seed);
            var tensors = new Dictionary<string, (int[] Shape, float[] Data)>();
            for (int i = 0; i < shapeList.Length; i++)
            {
                var shape = shapeList[i];
                var data = new float[shape.Aggregate(1, (a, d) => a * d)];
                for (int j = 0; j < data.Length; j++)
                {
                    data[j] = (float)((random.NextDouble() * 2) - 1) * 1000f;
                }

                tensors[$"t{random.Next(1000)}.{i}"] = (shape, data);
            }

            var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "画像 \"quoted\"" };
            string path = Path.Combine(_dir, $"rt{n++}.safetensors");
            SafeTensorsFile.Write(path, tensors, metadata);
            var file = SafeTensorsFile.Read(path);

            Assert.Equal(metadata, file.Metadata);
            Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), file.Names);
            foreach (var (name, (shape, data)) in tensors)
            {
                Assert.Equal(SafeTensorDType.F32, file[name].DType);
                Assert.Equal(shape, file[name].Shape);
                Assert.Equal(data, file[name].Data);
            }
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Write_Header_IsPaddedToMultipleOfEightWithSpaces()
    {
        string path = Path.Combine(_dir, "pad.safetensors");
        for (int nameLength = 1; nameLength <= 9; nameLength++)
        {
            SafeTensorsFile.Write(path, new Dictionary<string, (int[], float[])>
            {
                [new string('w', nameLength)] = ([3], [1f, 2f, 3f]),
            });
            var bytes = File.ReadAllBytes(path);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            Assert.Equal(0UL, headerLength % 8);
            string header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
            Assert.EndsWith("}", header.TrimEnd(' '));
            Assert.InRange(header.Length - header.TrimEnd(' ').Length, 0, 7);
            using var json = JsonDocument.Parse(header);
            Assert.Equal(12, bytes.Length - 8 - (int)headerLength);
            Assert.Equal(2f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + (int)headerLength + 4)));
        }
    }

    [Fact]
    public void Write_ShapeDisagreesWithData_Throws()
    {
        string path = Path.Combine(_dir, "bad.safetensors");
        var e = Assert.Throws<ArgumentException>(() => SafeTensorsFile.Write(path, new Dictionary<string, (int[], float[])>
        {
            ["w"] = ([2, 2], [1f, 2f, 3f]),
        }));
        Assert.Contains("'w'", e.Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Read_HalfBFloatAndIntegerTypes_ConvertToFloat()
    {
        // F16 1.5 = 0x3E00, -2 = 0xC000; BF16 of 3.140625 = 0x4049; I64 7 and -9; U8 255.
        var data = new List<byte>();
        data.AddRange([0x00, 0x3E, 0x00, 0xC0]);
        data.AddRange([0x49, 0x40]);
        data.AddRange(BitConverter.GetBytes(7L));
        data.AddRange(BitConverter.GetBytes(-9L));
        data.Add(255);
        string header = """
            {"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},
             "b":{"dtype":"BF16","shape":[],"data_offsets":[4,6]},
             "c":{"dtype":"I64","shape":[1,2],"data_offsets":[6,22]},
             "d":{"dtype":"U8","shape":[1],"data_offsets":[22,23]}}
            """;
        string path = WriteRaw("mixed.safetensors", header, [.. data]);

        var file = SafeTensorsFile.Read(path);

        Assert.Equal([1.5f, -2f], file["a"].Data);
        Assert.Equal(SafeTensorDType.F16, file["a"].DType);
        Assert.Equal([3.140625f], file["b"].Data);
        Assert.Empty(file["b"].Shape);
        Assert.Equal([7f, -9f], file["c"].Data);
        Assert.Equal([255f], file["d"].Data);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void Read_WithFilter_LoadsOnlyAcceptedTensors()
    {
        string path = Path.Combine(_dir, "filter.safetensors");
        SafeTensorsFile.Write(path, new Dictionary<string, (int[], float[])>
        {
            ["keep"] = ([1], [1f]),
            ["drop"] = ([2], [2f, 3f]),
        });

        var file = SafeTensorsFile.Read(path, name => name == "keep");

        Assert.True(file.Contains("keep"));
        Assert.False(file.Contains("drop"));
        var e = Assert.Throws<KeyNotFoundException>(() => file["drop"]);
        Assert.Contains("drop", e.Message);
        Assert.Equal(2, SafeTensorsFile.ReadHeader(path).Tensors.Count);
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4, "holds 4")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 12, "cover 8 data bytes")]
    [InlineData("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8, "needs 12 bytes")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "expected 0")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4, "expected 4")]
    [InlineData("""{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}""", 1, "unsupported dtype")]
    [InlineData("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4, "invalid dimension")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}""", 4, "invalid data_offsets")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1]}}""", 4, "data_offsets")]
    [InlineData("""{"__metadata__":{"n":1}}""", 0, "must be a string")]
    [InlineData("""[1,2]""", 0, "JSON object")]
    [InlineData("""{"a":""", 0, "not valid JSON")]
    public void Read_MalformedHeader_ThrowsInvalidDataNamingTheProblem(string header, int dataBytes, string expected)
    {
        string path = WriteRaw("bad.safetensors", header, new byte[dataBytes]);

        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Read(path));

        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Read_HeaderLengthBeyondFile_Throws()
    {
        string path = Path.Combine(_dir, "short.safetensors");
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Read(path));
        Assert.Contains("1000-byte header", e.Message);

        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Read(path));
    }

    [GoldenTheory]
    [InlineData("zh", 32, 21128)]
    [InlineData("en", 24, 30522)]
    public void Read_GoldenBertTiny_LoadsAll39TensorsWithConfigShapes(string model, int hidden, int vocab)
    {
        string path = GoldenData.Path("bert-tiny", model, "model.safetensors");

        var file = SafeTensorsFile.Read(path);

        Assert.Equal(39, file.Tensors.Count);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal([vocab, hidden], file["embeddings.word_embeddings.weight"].Shape);
        Assert.Equal([2 * hidden, hidden], file["encoder.layer.1.intermediate.dense.weight"].Shape);
        Assert.Equal([hidden], file["pooler.dense.bias"].Shape);
        Assert.All(file.Tensors.Values, t => Assert.Equal(SafeTensorDType.F32, t.DType));

        // Cross-check one value against the raw bytes located independently of the reader.
        var bytes = File.ReadAllBytes(path);
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        long begin = header.RootElement.GetProperty("pooler.dense.weight").GetProperty("data_offsets")[0].GetInt64();
        float expected = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + headerLength + (int)begin + (5 * 4)));
        Assert.Equal(expected, file["pooler.dense.weight"].Data[5]);
    }

    [GoldenFact]
    public void Write_GoldenTensors_RewritesIdenticalDataSection()
    {
        // The golden file stores F32 tensors in name order with a space-padded header, as this writer does;
        // only the header's whitespace layout may differ, so compare the data sections.
        string source = GoldenData.Path("bert-tiny", "en", "model.safetensors");
        var file = SafeTensorsFile.Read(source);
        string copy = Path.Combine(_dir, "copy.safetensors");

        SafeTensorsFile.Write(copy, file.Tensors.ToDictionary(p => p.Key, p => (p.Value.Shape, p.Value.Data)), file.Metadata);

        var a = File.ReadAllBytes(source);
        var b = File.ReadAllBytes(copy);
        int ha = (int)BinaryPrimitives.ReadUInt64LittleEndian(a);
        int hb = (int)BinaryPrimitives.ReadUInt64LittleEndian(b);
        Assert.True(a.AsSpan(8 + ha).SequenceEqual(b.AsSpan(8 + hb)));
    }

    private string WriteRaw(string name, string header, byte[] data)
    {
        string path = Path.Combine(_dir, name);
        var headerBytes = Encoding.UTF8.GetBytes(header);
        using var stream = File.Create(path);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)headerBytes.Length);
        stream.Write(prefix);
        stream.Write(headerBytes);
        stream.Write(data);
        return path;
    }
}

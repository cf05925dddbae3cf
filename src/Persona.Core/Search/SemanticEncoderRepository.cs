using System.Globalization;
using System.Text.Json;
using Persona.Abstractions;

namespace Persona.Core.Search;

/// <summary>What a stored text encoder was trained on and with, written beside its table.</summary>
public sealed record SemanticEncoderManifest
{
    public const string FileName = "manifest.json";
    public const string TableFileName = "encoder.bin";
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;
    public required string Version { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public int Dimension { get; init; }
    public int Buckets { get; init; }
    public int Epochs { get; init; }
    /// <summary>Catalog items it was trained on.</summary>
    public int Items { get; init; }
    /// <summary>Order-independent hash of the trained catalog's ids and titles.</summary>
    public string CatalogFingerprint { get; init; } = "";
    /// <summary>Logged (query, clicked item) pairs it was trained on.</summary>
    public int ClickPairs { get; init; }
    public double TrainingSeconds { get; init; }
    /// <summary>Re-ranker weights learned in the same run from the click log; null when there were too few clicks.</summary>
    public IReadOnlyList<double>? Weights { get; init; }
    public string? WeightsSource { get; init; }
    public int WeightsPairs { get; init; }

    /// <summary>
    /// Whether this encoder may serve a catalog of <paramref name="items"/> items with these settings: same format and
    /// encoder settings, and a catalog neither a tenth larger nor a tenth smaller than the one it learned (the server
    /// retrains on the same growth).
    /// </summary>
    public bool Fits(int items, SemanticEncoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Format == CurrentFormat && Dimension == options.Dimension && Buckets == options.Buckets && Epochs == options.Epochs
            && Items >= 2 && items <= Items * 1.1 && Items <= items * 1.1;
    }

    public static string Fingerprint(IEnumerable<Item> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        ulong sum = 0;
        foreach (var item in items)
        {
            var h = 14695981039346656037UL;
            foreach (var c in item.Id) h = (h ^ c) * 1099511628211UL;
            h = (h ^ 1) * 1099511628211UL;
            foreach (var c in item.Title) h = (h ^ c) * 1099511628211UL;
            sum += h;
        }
        return sum.ToString("x16", CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// Versioned text encoders on disk: <c>DATA/models/search/&lt;version&gt;/{encoder.bin, manifest.json}</c>. The server
/// writes one after each training and both the server and the CLI load the newest that fits the catalog, so the encoder
/// is trained once per catalog rather than at every start. Written to a temporary folder and moved into place, so a
/// reader never sees half an encoder; only the newest <see cref="Keep"/> versions are kept.
/// </summary>
public sealed class SemanticEncoderRepository(string root)
{
    public const int Keep = 2;

    public static SemanticEncoderRepository ForDataDirectory(string dataDirectory) => new(Path.Combine(dataDirectory, "models", "search"));

    public string Root { get; } = string.IsNullOrEmpty(root) ? throw new ArgumentException("A folder is required.", nameof(root)) : root;

    /// <summary>Complete versions (manifest and table), oldest first.</summary>
    public IReadOnlyList<string> ListVersions()
    {
        if (!Directory.Exists(Root)) return [];
        return Directory.EnumerateDirectories(Root)
            .Where(d => !Path.GetFileName(d).StartsWith('.')
                && File.Exists(Path.Combine(d, SemanticEncoderManifest.FileName)) && File.Exists(Path.Combine(d, SemanticEncoderManifest.TableFileName)))
            .Select(d => Path.GetFileName(d)!)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The newest stored encoder whose manifest <see cref="SemanticEncoderManifest.Fits"/> the catalog, or null.</summary>
    public (SemanticEncoder Encoder, SemanticEncoderManifest Manifest)? LoadNewestFitting(int items, SemanticEncoderOptions options)
    {
        var versions = ListVersions();
        for (var i = versions.Count - 1; i >= 0; i--)
        {
            var folder = Path.Combine(Root, versions[i]);
            var manifest = JsonSerializer.Deserialize<SemanticEncoderManifest>(File.ReadAllText(Path.Combine(folder, SemanticEncoderManifest.FileName)), PersonaJson.Options);
            if (manifest is null || !manifest.Fits(items, options)) continue;
            using var stream = File.OpenRead(Path.Combine(folder, SemanticEncoderManifest.TableFileName));
            var encoder = SemanticEncoder.ReadFrom(stream, manifest.Version);
            if (encoder.Dimension != manifest.Dimension || encoder.Buckets != manifest.Buckets) continue;
            return (encoder, manifest);
        }
        return null;
    }

    /// <summary>Where the item vectors encoded by encoder <paramref name="encoderVersion"/> are kept.</summary>
    public string VectorsPath(string encoderVersion) => Path.Combine(Root, "vectors-" + FileNamePart(encoderVersion) + ".bin");

    /// <summary>A version as a file name part: a pretrained encoder's version may hold '/' (<c>minilm-L6-v2/mean/256</c>).</summary>
    private static string FileNamePart(string version) =>
        string.Create(version.Length, version, static (span, v) =>
        {
            for (var i = 0; i < v.Length; i++) span[i] = char.IsAsciiLetterOrDigit(v[i]) || v[i] is '.' or '-' or '_' ? v[i] : '_';
        });

    private const int VectorsMagic = 0x56_45_43_31; // "VEC1": vectors only
    private const int PartitionedMagic = 0x56_45_43_32; // "VEC2": the partition's centroids, then each vector with its cluster

    /// <summary>
    /// Stores the catalog's vectors as encoded by encoder <paramref name="encoderVersion"/>, each with a hash of the text
    /// it was encoded from and, when <see cref="StoredVectors.Centroids"/> are given, its cluster in that partition, so the
    /// next start reuses them (and the partition) instead of encoding and clustering the catalog again; replaces the
    /// vectors of any other encoder. Written to a temporary file and moved into place.
    /// </summary>
    public void SaveVectors(string encoderVersion, int dimension, IEnumerable<EncodedItem> vectors, float[]? centroids = null, int partitionRows = 0)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        if (centroids is not null && (centroids.Length == 0 || centroids.Length % dimension != 0))
            throw new ArgumentException($"Centroids must be a whole number of {dimension}-float rows.", nameof(centroids));
        Directory.CreateDirectory(Root);
        var path = VectorsPath(encoderVersion);
        var temp = path + ".tmp";
        using (var writer = new BinaryWriter(File.Create(temp)))
        {
            writer.Write(centroids is null ? VectorsMagic : PartitionedMagic);
            writer.Write(dimension);
            if (centroids is not null)
            {
                writer.Write(centroids.Length / dimension);
                writer.Write(partitionRows);
                writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(centroids.AsSpan()));
            }
            foreach (var item in vectors)
            {
                if (item.Vector.Length != dimension) continue;
                writer.Write(true);
                writer.Write(item.Id);
                writer.Write(item.TextHash);
                writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(item.Vector.AsSpan()));
                if (centroids is not null) writer.Write(item.Cluster);
            }
            writer.Write(false);
        }
        File.Move(temp, path, overwrite: true);
        foreach (var other in Directory.EnumerateFiles(Root, "vectors-*.bin"))
        {
            if (other == path) continue;
            try { File.Delete(other); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>
    /// The vectors <see cref="SaveVectors"/> stored for this encoder (with the partition's centroids when one was
    /// stored), by item id; null when there are none or they cannot be read.
    /// </summary>
    public StoredVectors? LoadVectors(string encoderVersion, int dimension)
    {
        var path = VectorsPath(encoderVersion);
        if (!File.Exists(path)) return null;
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            var magic = reader.ReadInt32();
            if (magic is not (VectorsMagic or PartitionedMagic) || reader.ReadInt32() != dimension) return null;
            float[]? centroids = null;
            var partitionRows = 0;
            if (magic == PartitionedMagic)
            {
                var clusters = reader.ReadInt32();
                partitionRows = reader.ReadInt32();
                if (clusters < 1 || (long)clusters * dimension > Array.MaxLength || partitionRows < 0) return null;
                centroids = new float[clusters * dimension];
                reader.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(centroids.AsSpan()));
            }
            var vectors = new Dictionary<string, EncodedItem>(StringComparer.Ordinal);
            while (reader.ReadBoolean())
            {
                var id = reader.ReadString();
                var hash = reader.ReadUInt64();
                var vector = new float[dimension];
                reader.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector.AsSpan()));
                var cluster = centroids is null ? -1 : reader.ReadInt32();
                vectors[id] = new EncodedItem(id, hash, vector, cluster);
            }
            return new StoredVectors(vectors, centroids, partitionRows);
        }
        catch (Exception ex) when (ex is IOException or FormatException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Stores an encoder under its version (suffixed if taken) and drops all but the newest <see cref="Keep"/> versions.</summary>
    public string Save(SemanticEncoder encoder, SemanticEncoderManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(manifest);
        Directory.CreateDirectory(Root);
        var version = encoder.Version;
        for (var n = 2; Directory.Exists(Path.Combine(Root, version)); n++) version = encoder.Version + "-" + n.ToString(CultureInfo.InvariantCulture);
        var temp = Path.Combine(Root, "." + version + ".tmp");
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        using (var stream = File.Create(Path.Combine(temp, SemanticEncoderManifest.TableFileName))) encoder.WriteTo(stream);
        File.WriteAllText(Path.Combine(temp, SemanticEncoderManifest.FileName),
            JsonSerializer.Serialize(manifest with { Version = encoder.Version }, new JsonSerializerOptions(PersonaJson.Options) { WriteIndented = true }));
        Directory.Move(temp, Path.Combine(Root, version));
        var versions = ListVersions();
        foreach (var old in versions.Take(Math.Max(0, versions.Count - Keep)))
        {
            try { Directory.Delete(Path.Combine(Root, old), recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return version;
    }
}

/// <summary>
/// An item's vector as an encoder made it, with <see cref="SearchFields.TextHash"/> of the text it was made from and
/// its cluster in the stored partition of the vectors (-1: none).
/// </summary>
public sealed record EncodedItem(string Id, ulong TextHash, float[] Vector, int Cluster = -1);

/// <summary>
/// An encoder's stored item vectors by item id, with the (clusters, dim) centroids of their partition and the rows it
/// was built for, when one was stored (<see cref="Retrieval.IvfPartition"/>).
/// </summary>
public sealed record StoredVectors(IReadOnlyDictionary<string, EncodedItem> Items, float[]? Centroids, int PartitionRows);

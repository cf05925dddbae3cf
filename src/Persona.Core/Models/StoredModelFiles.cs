using Persona.Abstractions;

namespace Persona.Core.Models;

/// <summary>
/// Model versions shared through the store by the nodes of a cluster (docs/cluster.md, "Model versions in the store").
/// A repository keeps each version in a folder of its own (<c>ROOT/&lt;version&gt;/…</c>); publishing copies that folder
/// into the store as files named <c>PREFIX&lt;version&gt;/&lt;file&gt;</c> in one transaction, and pulling copies the
/// newest stored version into another node's ROOT, whole (into a hidden folder first, then moved into place), where the
/// repository finds it as if it had been trained there.
/// </summary>
public static class StoredModelFiles
{
    /// <summary>Where sequence model versions are kept in the store.</summary>
    public const string SequencePrefix = "models/sequence/";

    /// <summary>Where search encoder versions are kept in the store.</summary>
    public const string SearchPrefix = "models/search/";

    /// <summary>Stored versions kept per prefix; older ones are deleted when a new one is published.</summary>
    public const int Keep = 3;

    /// <summary>
    /// Copies <c>ROOT/version</c> into the store under <paramref name="prefix"/>, then drops stored versions older than the
    /// newest <see cref="Keep"/>, except those in <paramref name="retain"/> (the serving version and the one a rollback
    /// returns to, which other nodes must still be able to copy).
    /// </summary>
    public static async Task PublishAsync(IFileStore store, string root, string version, string prefix, IReadOnlyCollection<string>? retain = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(version);
        var folder = Path.Combine(root, version);
        var files = new List<StoredFile>();
        foreach (var path in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
            files.Add(new StoredFile(prefix + version + "/" + Path.GetFileName(path), await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false)));
        if (files.Count == 0) throw new InvalidOperationException($"{folder} holds no files to publish.");
        await store.WriteFilesAsync(files, cancellationToken).ConfigureAwait(false);
        var versions = Versions(await store.ListFilesAsync(prefix, cancellationToken).ConfigureAwait(false), prefix);
        for (var i = 0; i < versions.Count - Keep; i++)
            if (retain is null || !retain.Contains(versions[i]))
                await store.DeleteFilesAsync(prefix + versions[i] + "/", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Copies the newest version stored under <paramref name="prefix"/> into <paramref name="root"/> when the folder does
    /// not have it; returns that version, or null when there was nothing to copy.
    /// </summary>
    public static async Task<string?> PullNewestAsync(IFileStore store, string root, string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var names = await store.ListFilesAsync(prefix, cancellationToken).ConfigureAwait(false);
        var versions = Versions(names, prefix);
        if (versions.Count == 0) return null;
        return await PullAsync(store, root, prefix, versions[^1], names, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether the store holds files of <paramref name="version"/> under <paramref name="prefix"/>.</summary>
    public static async Task<bool> HasVersionAsync(IFileStore store, string prefix, string version, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        return (await store.ListFilesAsync(prefix + version + "/", cancellationToken).ConfigureAwait(false)).Count > 0;
    }

    /// <summary>
    /// Copies <paramref name="version"/> stored under <paramref name="prefix"/> into <paramref name="root"/> when the folder
    /// does not have it (a node asked to serve a version another trained); returns the version, or null when there was
    /// nothing to copy (already there, or not in the store).
    /// </summary>
    public static async Task<string?> PullAsync(IFileStore store, string root, string prefix, string version, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        // The name must be one Versions would list: a plain folder name, never hidden, never a way out of ROOT.
        if (!Versions([prefix + version + "/x"], prefix).Contains(version)) return null;
        var names = await store.ListFilesAsync(prefix + version + "/", cancellationToken).ConfigureAwait(false);
        return names.Count == 0 ? null : await PullAsync(store, root, prefix, version, names, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<string?> PullAsync(IFileStore store, string root, string prefix, string version, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        var target = Path.Combine(root, version);
        if (Directory.Exists(target)) return null;
        var pulling = Path.Combine(root, "." + version + ".pull");
        if (Directory.Exists(pulling)) Directory.Delete(pulling, recursive: true);
        Directory.CreateDirectory(pulling);
        var versionPrefix = prefix + version + "/";
        foreach (var name in names)
        {
            if (!name.StartsWith(versionPrefix, StringComparison.Ordinal)) continue;
            var file = name[versionPrefix.Length..];
            if (file.Length == 0 || file.Contains('/', StringComparison.Ordinal) || file.StartsWith('.')) continue;
            // Deleted meanwhile (a newer version was published and this one pruned): the next pull takes the newer one.
            if (await store.ReadFileAsync(name, cancellationToken).ConfigureAwait(false) is not { } content)
            {
                Directory.Delete(pulling, recursive: true);
                return null;
            }
            await File.WriteAllBytesAsync(Path.Combine(pulling, file), content, cancellationToken).ConfigureAwait(false);
        }
        Directory.Move(pulling, target);
        return version;
    }

    /// <summary>The versions named by stored files under <paramref name="prefix"/>, oldest first.</summary>
    private static List<string> Versions(IReadOnlyList<string> names, string prefix) =>
        names.Select(n => n[prefix.Length..])
            .Where(rest => rest.IndexOf('/', StringComparison.Ordinal) > 0)
            .Select(rest => rest[..rest.IndexOf('/', StringComparison.Ordinal)])
            // A folder name: never hidden, never a way out of ROOT.
            .Where(version => !version.StartsWith('.') && version.IndexOfAny(Path.GetInvalidFileNameChars()) < 0)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
}

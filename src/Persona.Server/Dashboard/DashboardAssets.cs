using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Net.Http.Headers;

namespace Persona.Server.Dashboard;

/// <summary>
/// The dashboard's files (HTML, CSS, JS modules and ECharts), embedded in this assembly at build time so that
/// every host (the server, the CLI's <c>serve</c>/<c>demo</c>, tests) serves them without a content root.
/// </summary>
public sealed class DashboardAssets
{
    /// <summary>Prefix of the embedded resource names (see Persona.Server.csproj).</summary>
    public const string ResourcePrefix = "dashboard/";

    private readonly FrozenDictionary<string, Asset> _assets;

    private DashboardAssets(FrozenDictionary<string, Asset> assets) => _assets = assets;

    /// <summary>Paths relative to the dashboard root, e.g. <c>js/app.js</c>.</summary>
    public IEnumerable<string> Paths => _assets.Keys;

    public static DashboardAssets Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var types = new FileExtensionContentTypeProvider();
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames())
        {
            var normalised = name.Replace('\\', '/');
            if (!normalised.StartsWith(ResourcePrefix, StringComparison.Ordinal)) continue;
            var path = normalised[ResourcePrefix.Length..];
            var bytes = Read(assembly, name);
            if (!types.TryGetContentType(path, out var contentType)) contentType = "application/octet-stream";
            // Text assets are UTF-8; saying so keeps Chinese labels intact whatever the browser's default.
            if (contentType.StartsWith("text/", StringComparison.Ordinal) || contentType.EndsWith("javascript", StringComparison.Ordinal))
                contentType += "; charset=utf-8";
            var tag = new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(bytes).AsSpan(0, 8))}\"");
            assets[path] = new Asset(bytes, contentType, tag);
        }
        return new DashboardAssets(assets.ToFrozenDictionary(StringComparer.Ordinal));
    }

    public bool TryGet(string path, out Asset asset) => _assets.TryGetValue(path, out asset!);

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"Embedded resource '{name}' is missing.");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    public sealed record Asset(byte[] Bytes, string ContentType, EntityTagHeaderValue ETag);
}

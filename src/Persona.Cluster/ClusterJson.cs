using System.Text.Json;
using System.Text.Json.Serialization;
using Persona.Abstractions;

namespace Persona.Cluster;

/// <summary>
/// How Persona's records cross nodes: the wire JSON (<see cref="PersonaJson"/>), plus read-only sets (a query's
/// exclusions), which System.Text.Json writes but cannot create.
/// </summary>
internal static class ClusterJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = PersonaJson.Configure(new JsonSerializerOptions());
        options.Converters.Add(new ReadOnlySetConverter());
        return options;
    }

    /// <summary>Whether a type crosses nodes as JSON: Persona's records, not the cluster's own Orleans types.</summary>
    public static bool IsSupported(Type type) =>
        type.Namespace is { } ns && ns.StartsWith("Persona.", StringComparison.Ordinal) && !ns.StartsWith("Persona.Cluster", StringComparison.Ordinal);

    private sealed class ReadOnlySetConverter : JsonConverter<IReadOnlySet<string>>
    {
        public override IReadOnlySet<string>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            JsonSerializer.Deserialize<string[]>(ref reader, options) is { } items ? new HashSet<string>(items, StringComparer.Ordinal) : null;

        public override void Write(Utf8JsonWriter writer, IReadOnlySet<string> value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value.ToArray(), options);
    }
}

using System.Text.Encodings.Web;
using System.Text.Json;

namespace Persona.Generative;

/// <summary>How facts and queries are written into prompts: snake_case names, Chinese left as it is (a model reads 口红 better than \u escapes), quotes and backslashes still escaped.</summary>
public static class PromptJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}

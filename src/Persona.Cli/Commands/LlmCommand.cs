using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Persona.Abstractions;
using Persona.Generative;

namespace Persona.Cli.Commands;

/// <summary><c>persona llm check</c>: one call to the configured OpenAI-compatible endpoint, reporting what answered (docs/generative.md).</summary>
internal static class LlmCommand
{
    public static Command Create()
    {
        var command = new Command("llm", "The OpenAI-compatible chat endpoint Persona may use (Persona:Generative; off unless a base URL is set).");
        command.Subcommands.Add(Check());
        return command;
    }

    /// <summary><c>Persona:Generative</c> from the environment (<c>Persona__Generative__BaseUrl</c> …), as <c>persona serve</c> reads it.</summary>
    public static GenerativeOptions OptionsFromEnvironment()
    {
        var options = new GenerativeOptions();
        new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(GenerativeOptions.SectionName).Bind(options);
        return options;
    }

    private static Command Check()
    {
        var baseUrl = new Option<string?>("--base-url") { Description = "The API's base address (default: Persona__Generative__BaseUrl in the environment), e.g. http://127.0.0.1:11434/v1." };
        var model = new Option<string?>("--model") { Description = "The model to ask (default: Persona__Generative__Model)." };
        var keyEnvironment = new Option<string?>("--key-env") { Description = "The environment variable holding the key (default PERSONA_LLM_API_KEY); the key is never printed." };
        var timeout = new Option<double?>("--timeout") { Description = "Seconds to wait (default: Persona__Generative__TimeoutSeconds, else 10)." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var command = new Command("check", "Send one short request and say what answered, how fast, or why nothing did. Exit 0: answered; 1: failed; 2: not configured.")
        {
            baseUrl, model, keyEnvironment, timeout, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = OptionsFromEnvironment();
            if (parse.GetValue(baseUrl) is { } url) options.BaseUrl = url;
            if (parse.GetValue(model) is { } name) options.Model = name;
            if (parse.GetValue(keyEnvironment) is { } variable) options.ApiKeyEnvironment = variable;
            if (parse.GetValue(timeout) is { } seconds) options.TimeoutSeconds = seconds;
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            if (!options.Enabled)
            {
                await error.WriteLineAsync("No endpoint configured: give --base-url and --model, or set Persona__Generative__BaseUrl and Persona__Generative__Model.");
                return 2;
            }
            if (options.Validate() is { Count: > 0 } problems)
            {
                foreach (var problem in problems) await error.WriteLineAsync($"{GenerativeOptions.SectionName}: {problem}");
                return 2;
            }
            using var client = new GenerativeClient(options);
            var result = await client.CheckAsync(cancellationToken);
            if (parse.GetValue(json)) await output.WriteLineAsync(JsonSerializer.Serialize(result, PersonaJson.Options));
            else if (result.Ok)
                await output.WriteLineAsync($"{result.Endpoint}: model {result.AnsweredBy ?? result.Model} {result.Detail} in {result.ElapsedMs:0} ms (key {(options.ResolveKey() is null ? "none" : "from " + (string.IsNullOrEmpty(options.ApiKey) ? options.ApiKeyEnvironment : "configuration"))}).");
            else await error.WriteLineAsync($"{result.Endpoint} ({result.Model}): {result.Detail}");
            return result.Ok ? 0 : 1;
        });
        return command;
    }
}

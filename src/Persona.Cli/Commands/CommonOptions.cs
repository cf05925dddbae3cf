using System.CommandLine;
using Persona.Hosting;

namespace Persona.Cli.Commands;

internal static class CommonOptions
{
    /// <summary>
    /// Opens <c>--encoder</c> as <c>Persona:Text:Encoder</c> would for the server (null for in-domain, the serving adapters
    /// under <paramref name="dataDirectory"/> with a pretrained one); false after writing the error, which names the option.
    /// </summary>
    public static bool TryOpenEncoder(string spec, string? dataDirectory, TextWriter error, out Persona.Text.ITextEncoder? encoder)
    {
        try
        {
            encoder = new PersonaTextOptions { Encoder = spec }.OpenPretrained(dataDirectory);
            return true;
        }
        catch (InvalidOperationException ex)
        {
            error.WriteLine(ex.Message.Replace(PersonaTextOptions.SectionName + ":Encoder", "--encoder", StringComparison.Ordinal));
            encoder = null;
            return false;
        }
    }

    /// <summary>The data folder of every command when --data is left out: the one <c>persona demo</c> fills.</summary>
    public static readonly string DefaultDataDirectory = Path.Combine(PersonaOptions.DefaultDataDirectory, "demo");

    /// <summary>
    /// The <c>--data</c> option. <paramref name="creates"/>: the command makes a store in a folder without one
    /// (demo, import, serve); the others refuse such a folder (<see cref="EngineSession.OpenAsync"/>).
    /// </summary>
    public static Option<DirectoryInfo> Data(bool creates = false) => new("--data")
    {
        Description = creates
            ? $"Data folder of the embedded store, created if missing (default {DefaultDataDirectory}, where `persona demo` writes)."
            : $"Data folder holding a store (default {DefaultDataDirectory}, where `persona demo` writes).",
        DefaultValueFactory = _ => new DirectoryInfo(DefaultDataDirectory),
    };

    /// <summary>
    /// Makes <paramref name="argument"/> required with a message that names it (<paramref name="what"/>) and shows the
    /// usage, instead of the parser's generic one or an unrelated option's complaint.
    /// </summary>
    public static void Require(Command command, Argument<string> argument, string what, string usage)
    {
        argument.Arity = ArgumentArity.ZeroOrOne;
        command.Validators.Add(result =>
        {
            if (result.GetResult(argument) is not { Tokens.Count: > 0 }) result.AddError($"The {what} is missing. Usage: {usage}");
        });
    }

    public static Option<string> Urls() => new("--urls")
    {
        Description = "Address(es) the API listens on.",
        DefaultValueFactory = _ => Server.PersonaServer.DefaultUrl,
    };
}

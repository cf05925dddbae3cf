using System.CommandLine;
using Persona.Hosting;

namespace Persona.Cli.Commands;

internal static class CommonOptions
{
    public static Option<DirectoryInfo> Data(string? defaultPath = null) => new("--data")
    {
        Description = "Folder of the embedded store (created if missing).",
        DefaultValueFactory = _ => new DirectoryInfo(defaultPath ?? PersonaOptions.DefaultDataDirectory),
    };

    public static Option<string> Urls() => new("--urls")
    {
        Description = "Address(es) the API listens on.",
        DefaultValueFactory = _ => Server.PersonaServer.DefaultUrl,
    };

    public static PersonaOptions OptionsFor(DirectoryInfo data) => new() { DataDirectory = data.FullName };
}

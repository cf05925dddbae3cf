using Persona.Cli;

return await PersonaCli.BuildRootCommand().Parse(args).InvokeAsync();

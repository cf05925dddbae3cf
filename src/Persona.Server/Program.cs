var app = Persona.Server.PersonaServer.Build(args);
await app.RunAsync();

/// <summary>Entry point marker for <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;

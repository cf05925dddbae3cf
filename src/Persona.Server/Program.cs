var app = Persona.Server.PersonaServer.Build(args);
app.Run();

/// <summary>Entry point marker for <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;

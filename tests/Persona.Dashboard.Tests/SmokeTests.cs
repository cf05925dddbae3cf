namespace Persona.Dashboard.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void ServerAssembly_Loads() => Assert.NotNull(typeof(Persona.Server.PersonaServer).Assembly);
}

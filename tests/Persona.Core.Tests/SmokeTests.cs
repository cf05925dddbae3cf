namespace Persona.Core.Tests;

public class SmokeTests
{
    [Fact]
    public void Build_Compiles_True() => Assert.True(true);
}

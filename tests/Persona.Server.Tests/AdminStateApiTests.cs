using System.Net;

namespace Persona.Server.Tests;

/// <summary><c>GET /v1/admin/state</c>: what the last start restored and the shopper states in memory against their budget.</summary>
public sealed class AdminStateApiTests
{
    [Fact]
    public async Task State_ShowsTheRestoreAndTheHotStatesAgainstTheBudget()
    {
        await using var app = new PersonaAppFactory();
        app.Settings["Persona:State:MemoryBudgetMiB"] = "64";
        using var client = app.CreateClient();
        await AudienceShopFactory.SeedAsync(app.Engine);

        var response = await client.GetAsync("/v1/admin/state");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var state = await response.ReadJsonAsync();
        // A fresh store: nothing to restore, every part rebuilt from the (empty) log.
        Assert.Equal(0, state.GetProperty("restore").GetProperty("shoppers").GetInt32());
        Assert.Equal(0, state.GetProperty("parts").GetProperty("recommendations").GetInt64());
        var memory = state.GetProperty("memory");
        Assert.Equal(AudienceShopFactory.Users, memory.GetProperty("shoppers").GetInt32());
        Assert.Equal(64L << 20, memory.GetProperty("budget_bytes").GetInt64());
        Assert.InRange(memory.GetProperty("hot_bytes").GetInt64(), AudienceShopFactory.Users * 2_000L, 64L << 20);
        Assert.Equal(0, memory.GetProperty("evictions").GetInt64());
    }
}

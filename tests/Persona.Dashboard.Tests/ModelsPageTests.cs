using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Persona.Core.Demo;
using Persona.Core.Models.Sequence;
using Persona.Hosting;

namespace Persona.Dashboard.Tests;

/// <summary>
/// A dashboard server of its own for the sequence model's versions: its tests train models and change which one serves,
/// which the shared fixture's pages must not see (they show a shop without a sequence model). Training in service is on,
/// with a trigger that never fires by itself, so a test starts it when it wants.
/// </summary>
public sealed class ModelsDashboardServer : DashboardServer
{
    public ModelsDashboardServer()
        : base(
            ["--Persona:Security:Open=true", "--Persona:Training:AfterEvents=100000", "--Persona:Training:Epochs=3", "--Persona:Training:MaxMinutes=1"],
            new DemoOptions { Users = 60, Items = 240, Days = 60, TargetEventsPerUser = 30 })
    {
    }
}

[CollectionDefinition(Name)]
public sealed class ModelsDashboardCollection : ICollectionFixture<ModelsDashboardServer>
{
    public const string Name = "dashboard-models";
}

/// <summary>The Models page's sequence model versions: figures, the gate's verdict, promote and roll back, in both languages.</summary>
[Collection(ModelsDashboardCollection.Name)]
public sealed class ModelsPageTests(ModelsDashboardServer server)
{
    private static SequenceTrainingOptions Tiny(int epochs, float learningRate) => new()
    {
        Dimension = 8, Layers = 1, Heads = 1, MaxLength = 10, Dropout = 0.1f, Epochs = epochs, Patience = epochs, BatchSize = 32,
        LearningRate = learningRate, SampledNegatives = 0, Seed = 5,
    };

    [ChromiumFact]
    public async Task SequenceVersions_ShowFiguresAndGate_PromoteAndRollBackFromThePage()
    {
        var models = server.Services.GetRequiredService<SequenceModelService>();
        var first = await models.TrainAsync(Tiny(4, 1e-2f), "test");
        var rejected = await models.TrainAsync(Tiny(1, 1e-6f) with { RefitEpochs = 0 }, "test");
        Assert.Equal(SequenceServingDecisions.Rejected, rejected.Gate.Decision);
        var provider = server.Services.GetRequiredService<ISequenceModelProvider>();

        await using var browser = await server.OpenAsync();
        await browser.GotoAsync("#/models", "models");
        var page = browser.Page;
        var panel = page.Locator("[data-testid=sequence-models]");
        Assert.Equal(2, await panel.Locator("tbody tr").CountAsync());
        var firstRow = panel.Locator($"tr[data-version='{first.Version}']");
        var secondRow = panel.Locator($"tr[data-version='{rejected.Version}']");
        Assert.Equal(1, await firstRow.Locator("[data-testid=serving-badge]").CountAsync());
        Assert.Contains(first.Result.BestValidationNdcg10.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture), await firstRow.InnerTextAsync());
        var gate = await secondRow.Locator("[data-testid=gate]").InnerTextAsync();
        Assert.Contains("rejected", gate);
        Assert.Contains(first.Version, gate);
        var training = await page.InnerTextAsync("[data-testid=sequence-training]");
        Assert.Contains("after 100,000 new events", training);
        Assert.Contains("Idle", training);
        Assert.DoesNotContain("null", training);

        // Promote the rejected version from the page: it serves at once, and the rollback button offers the first again.
        await secondRow.Locator("[data-testid=promote]").ClickAsync();
        await secondRow.Locator("[data-testid=serving-badge]").WaitForAsync(new LocatorWaitForOptions { Timeout = 10_000 });
        Assert.Equal(rejected.Version, provider.Current!.Version);
        await page.Locator("[data-testid=rollback]").ClickAsync();
        await firstRow.Locator("[data-testid=serving-badge]").WaitForAsync(new LocatorWaitForOptions { Timeout = 10_000 });
        Assert.Equal(first.Version, provider.Current!.Version);
        Assert.Equal(0, await page.Locator("[data-testid=rollback]").CountAsync());

        // A training in service, warm-started from the serving model: the page shows how it ended, with the gate's verdict.
        var outcome = await server.Services.GetRequiredService<SequenceTrainingService>().TrainNowAsync("test run", CancellationToken.None);
        Assert.NotNull(outcome?.Version);
        await page.Locator("[data-testid=training-last]").WaitForAsync(new LocatorWaitForOptions { Timeout = 10_000 });
        var last = await page.InnerTextAsync("[data-testid=training-last]");
        Assert.Contains(outcome.Version, last);
        Assert.Contains("test run", last);
        Assert.Contains(outcome.Gate!.Decision == SequenceServingDecisions.Passed ? "passed" : "rejected", last);
        // The versions are drawn again with the new one in them.
        await panel.Locator($"tr[data-version='{outcome.Version}']").WaitForAsync(new LocatorWaitForOptions { Timeout = 10_000 });
        await browser.ScreenshotAsync("models-sequence");
        browser.AssertNoConsoleErrors();

        await using var zh = await server.OpenAsync("zh-CN");
        await zh.GotoAsync("#/models", "models");
        var text = await zh.Page.InnerTextAsync("[data-testid=sequence-models]");
        Assert.Contains("序列模型版本", text);
        Assert.Contains("未通过", text);
        Assert.Contains("在用", text);
        Assert.Contains("服务内训练", await zh.Page.InnerTextAsync("[data-testid=sequence-training]"));
        zh.AssertNoConsoleErrors();
    }
}

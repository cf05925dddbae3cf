using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Persona.Abstractions;
using Persona.Hosting;
using Persona.Neural.Bert.Lora;
using Persona.Pretrained;

namespace Persona.Server.Tests;

/// <summary>
/// Fine-tuning a pretrained text encoder end to end on the tiny golden BERT (../shared/golden/bert-tiny/en): pairs from
/// a catalog, the gate on held-out pairs, versioned adapters with a serving pointer, and the configured encoder picking
/// the serving adapters up.
/// </summary>
public sealed class TextEncoderTrainingTests : IDisposable
{
    internal static readonly string? TinyBert = SharedGolden("bert-tiny", "en");
    private readonly string _data = Path.Combine(Path.GetTempPath(), "persona-text-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_data)) Directory.Delete(_data, recursive: true);
    }

    internal static string? SharedGolden(params string[] parts)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Persona.slnx"))) continue;
            var path = Path.GetFullPath(Path.Combine([dir.FullName, "..", "shared", "golden", .. parts]));
            return Directory.Exists(path) ? path : null;
        }
        return null;
    }

    private static List<Item> Catalog()
    {
        string[] colours = ["red", "blue", "green", "black", "white", "pink"];
        string[] kinds = ["lipstick", "mascara", "shampoo", "serum", "cleanser", "perfume"];
        string[] brands = ["Lumi", "Aqua", "Rosa", "Nord"];
        var items = new List<Item>();
        foreach (var colour in colours)
            foreach (var kind in kinds)
                items.Add(new Item
                {
                    Id = $"{colour}-{kind}",
                    Title = $"{colour} {kind} for daily use",
                    Brand = brands[items.Count % brands.Length],
                    CategoryPath = ["Beauty", kind],
                });
        return items;
    }

    [TinyBertFact]
    public void Train_OnTinyBert_StoresVersionedAdaptersThatTheConfiguredEncoderServes()
    {
        var items = Catalog();
        var clicks = items.Select(i => (i.Title.Split(' ')[1] + " " + i.Title.Split(' ')[0], i.Id));
        var pairs = TextEncoderTraining.Pairs(items, clicks, coVisitation: null);
        Assert.True(pairs.Count > 100, $"{pairs.Count} pairs");
        var repository = TextAdapterRepository.ForDataDirectory(_data);
        var tuning = new TextEncoderTuningOptions { Rank = 4, Alpha = 8, Epochs = 3, BatchSize = 16, LearningRate = 5e-3f, MaxMinutes = 2 };

        var manifest = TextEncoderTraining.Run(repository, TinyBert!, pairs, tuning, new PretrainedEncoderOptions(), force: false, progress: null, CancellationToken.None);

        Assert.True(manifest.Steps > 0);
        Assert.InRange(manifest.BaseAccuracy, 0, 1);
        Assert.Equal(manifest.TunedAccuracy > manifest.BaseAccuracy, manifest.Serves);
        Assert.True(File.Exists(Path.Combine(repository.Root, manifest.Version, TextAdapterManifest.AdapterFileName)));
        Assert.Contains(repository.List(), m => m.Version == manifest.Version);

        // Serving, or forced: the configured encoder loads the adapters merged into the base; "none" serves the base.
        if (!manifest.Serves)
            manifest = TextEncoderTraining.Run(repository, TinyBert!, pairs, tuning, new PretrainedEncoderOptions(), force: true, progress: null, CancellationToken.None);
        Assert.True(manifest.Serves);
        var configured = new PersonaTextOptions { Encoder = TinyBert! };
        var tuned = configured.OpenPretrained(_data)!;
        var plain = new PersonaTextOptions { Encoder = TinyBert!, Adapter = PersonaTextOptions.NoAdapter }.OpenPretrained(_data)!;
        Assert.Equal("checkpoint+lora", tuned.Kind);
        Assert.Equal("checkpoint", plain.Kind);
        Assert.NotEqual(plain.Version, tuned.Version);
        Assert.NotEqual(plain.Encode("red lipstick"), tuned.Encode("red lipstick"));
    }

    [TinyBertFact]
    public void OpenPretrained_AdapterOfAnotherBase_IsAClearStartupError()
    {
        var zh = SharedGolden("bert-tiny", "zh")!;
        var encoder = TextEncoderTuning.OpenBase(zh);
        var adapters = LoraAdapters.Create(encoder.Model.Config, new LoraOptions { Rank = 2 }, seed: 1);
        var file = Path.Combine(_data, "zh-adapter.safetensors");
        Directory.CreateDirectory(_data);
        adapters.Save(file, encoder.Identity);

        var error = Assert.Throws<InvalidOperationException>(() => new PersonaTextOptions { Encoder = TinyBert!, Adapter = file }.OpenPretrained(_data));
        Assert.Contains("Persona:Text:Encoder", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OpenPretrained_MissingModel_NamesTheSettingAndPath()
    {
        var missing = Path.Combine(_data, "no-such-model.onnx");
        var error = Assert.Throws<InvalidOperationException>(() => new PersonaTextOptions { Encoder = missing }.OpenPretrained(_data));
        Assert.Contains("Persona:Text:Encoder", error.Message, StringComparison.Ordinal);
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }
}

/// <summary>A fact skipped, saying why, when the tiny golden BERTs (../shared/golden/bert-tiny) are absent.</summary>
public sealed class TinyBertFactAttribute : FactAttribute
{
    public TinyBertFactAttribute()
    {
        if (TextEncoderTrainingTests.TinyBert is null || TextEncoderTrainingTests.SharedGolden("bert-tiny", "zh") is null)
            Skip = "../shared/golden/bert-tiny/{en,zh} not found beside the repository root; skipped.";
    }
}

/// <summary><c>GET /v1/admin/models/text</c> through the real pipeline.</summary>
public sealed class TextModelsApiTests
{
    [TinyBertFact]
    public async Task NewServingAdapters_ArePickedUpWithoutARestart_AndSimilarItemsUseTheText()
    {
        await using var app = new PersonaAppFactory();
        app.Settings["Persona:Text:Encoder"] = TextEncoderTrainingTests.TinyBert!;
        app.Settings["Persona:Text:AdapterPollSeconds"] = "1";
        using var client = app.CreateClient();
        foreach (var (id, title) in new[] { ("red-lipstick", "red lipstick matte"), ("pink-lipstick", "pink lipstick gloss"), ("blue-shampoo", "blue shampoo for hair"), ("new-lipstick", "coral lipstick velvet") })
            Assert.Equal(HttpStatusCode.OK, (await client.PutAsync($"/v1/items/{id}", HttpJson.Body($$"""{"title":"{{title}}"}"""))).StatusCode);
        var search = app.Services.GetRequiredService<SearchService>();
        // The server started with no items: the first ones put the pretrained encoder in service.
        await WaitUntil(() => search.Search(new Persona.Core.Search.SearchRequest { Query = "lipstick" }, null).Encoder?.Kind == "checkpoint");

        // No events at all: the new item's neighbours come from its text.
        var similar = await (await client.GetAsync("/v1/items/new-lipstick/similar?n=3")).ReadJsonAsync();
        var first = similar.GetProperty("items").EnumerateArray().First();
        Assert.Contains("text", first.GetProperty("sources").EnumerateArray().Select(s => s.GetString()));

        var repository = TextAdapterRepository.ForDataDirectory(app.Engine.Options.DataDirectory);
        var (model, identity, _, _) = TextEncoderTuning.OpenBase(TextEncoderTrainingTests.TinyBert!);
        repository.Save(new TextAdapterManifest
        {
            Version = "text-20261207T120000Z", CreatedAt = DateTimeOffset.UtcNow, Base = TextEncoderTrainingTests.TinyBert!, BaseIdentity = identity,
            Rank = 2, Alpha = 4, Targets = "q,v", TrainingPairs = 100, ValidationPairs = 10, Steps = 5, BaseAccuracy = 0.2, TunedAccuracy = 0.3, Serves = true,
        }, LoraAdapters.Create(model.Config, new LoraOptions { Rank = 2, Alpha = 4 }, seed: 1));

        await WaitUntil(() => search.Pretrained?.Kind == "checkpoint+lora");
        var body = await (await client.GetAsync("/v1/search?q=lipstick")).ReadJsonAsync();
        Assert.Equal("checkpoint+lora", body.GetProperty("encoder").GetProperty("kind").GetString());
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "timed out waiting");
            await Task.Delay(100);
        }
    }

    [TinyBertFact]
    public async Task GetText_ListsTheStoredAdaptersAndWhatServes()
    {
        await using var app = new PersonaAppFactory();
        using var client = app.CreateClient();
        var repository = TextAdapterRepository.ForDataDirectory(app.Engine.Options.DataDirectory);
        var (model, identity, _, _) = TextEncoderTuning.OpenBase(TextEncoderTrainingTests.TinyBert!);
        var manifest = new TextAdapterManifest
        {
            Version = "text-20261207T000000Z", CreatedAt = DateTimeOffset.UtcNow, Base = TextEncoderTrainingTests.TinyBert!, BaseIdentity = identity,
            Rank = 2, Alpha = 4, Targets = "q,v", TrainingPairs = 100, ValidationPairs = 10, Steps = 5, BaseAccuracy = 0.2, TunedAccuracy = 0.3, Serves = true,
        };
        repository.Save(manifest, LoraAdapters.Create(model.Config, new LoraOptions { Rank = 2, Alpha = 4 }, seed: 1));

        var body = await (await client.GetAsync("/v1/admin/models/text")).ReadJsonAsync();

        Assert.Equal(PersonaTextOptions.InDomain, body.GetProperty("configured").GetString());
        Assert.Equal(manifest.Version, body.GetProperty("adapter_pointer").GetString());
        var stored = Assert.Single(body.GetProperty("adapters").EnumerateArray());
        Assert.Equal(0.3, stored.GetProperty("tuned_accuracy").GetDouble(), 6);
        Assert.True(stored.GetProperty("serves").GetBoolean());
    }
}

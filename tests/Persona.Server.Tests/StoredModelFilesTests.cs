using Persona.Abstractions;
using Persona.Core.Models;
using Persona.Hosting;
using Persona.Storage.Postgres.Testing;

namespace Persona.Server.Tests;

/// <summary>Model versions published by one node's folder and pulled into another's, through each store.</summary>
public sealed class StoredModelFilesTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "persona-models", Guid.NewGuid().ToString("n"));
    private readonly string _schema = TestPostgres.NewSchema();
    private readonly List<IPersonaStore> _stores = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores) await store.DisposeAsync();
        if (_stores.Count > 0) await TestPostgres.DropSchemaAsync(_schema);
        try { Directory.Delete(_root, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    private async Task<IPersonaStore> OpenAsync(string provider)
    {
        var options = new PersonaOptions { DataDirectory = Path.Combine(_root, "store") };
        if (provider == PersonaStoreOptions.Postgres)
            options.Store = new PersonaStoreOptions { Provider = provider, ConnectionString = TestPostgres.ConnectionString, Schema = _schema };
        var store = PersonaStores.Create(options);
        _stores.Add(store);
        await store.InitializeAsync();
        return store;
    }

    private string Version(string node, string version, int size)
    {
        var folder = Path.Combine(_root, node, version);
        Directory.CreateDirectory(folder);
        var weights = new byte[size];
        new Random(size).NextBytes(weights);
        File.WriteAllBytes(Path.Combine(folder, "model.safetensors"), weights);
        File.WriteAllText(Path.Combine(folder, "manifest.json"), $"{{\"version\":\"{version}\"}}");
        return folder;
    }

    [Theory]
    [InlineData(PersonaStoreOptions.Sqlite)]
    [InlineData(PersonaStoreOptions.Postgres)]
    public async Task PublishedOnOneNode_PulledWholeIntoAnother_OnlyTheNewestAndOnce(string provider)
    {
        var store = await OpenAsync(provider);
        var trainer = Path.Combine(_root, "a");
        var server = Path.Combine(_root, "b");
        Directory.CreateDirectory(server);
        Assert.Null(await StoredModelFiles.PullNewestAsync(store, server, StoredModelFiles.SequencePrefix));

        Version("a", "seq-20261207T010000Z", 1_000);
        var newest = Version("a", "seq-20261207T020000Z", 70_000);
        await StoredModelFiles.PublishAsync(store, trainer, "seq-20261207T010000Z", StoredModelFiles.SequencePrefix);
        await StoredModelFiles.PublishAsync(store, trainer, "seq-20261207T020000Z", StoredModelFiles.SequencePrefix);
        // A pull a crash left half-done is started over.
        Directory.CreateDirectory(Path.Combine(server, ".seq-20261207T020000Z.pull"));
        File.WriteAllText(Path.Combine(server, ".seq-20261207T020000Z.pull", "model.safetensors"), "torn");

        Assert.Equal("seq-20261207T020000Z", await StoredModelFiles.PullNewestAsync(store, server, StoredModelFiles.SequencePrefix));

        Assert.Equal(["seq-20261207T020000Z"], Directory.GetDirectories(server).Select(Path.GetFileName));
        foreach (var file in new[] { "model.safetensors", "manifest.json" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(newest, file)), File.ReadAllBytes(Path.Combine(server, "seq-20261207T020000Z", file)));
        Assert.Null(await StoredModelFiles.PullNewestAsync(store, server, StoredModelFiles.SequencePrefix));
        Assert.Empty(await store.ListFilesAsync(StoredModelFiles.SearchPrefix));
    }

    [Fact]
    public async Task Publishing_KeepsTheNewestVersionsInTheStore()
    {
        var store = await OpenAsync(PersonaStoreOptions.Sqlite);
        var trainer = Path.Combine(_root, "a");
        for (var v = 1; v <= StoredModelFiles.Keep + 2; v++)
        {
            Version("a", $"enc-{v:00}", 10 + v);
            await StoredModelFiles.PublishAsync(store, trainer, $"enc-{v:00}", StoredModelFiles.SearchPrefix);
        }

        var kept = (await store.ListFilesAsync(StoredModelFiles.SearchPrefix)).Select(n => n.Split('/')[2]).Distinct().ToList();
        Assert.Equal(Enumerable.Range(3, StoredModelFiles.Keep).Select(v => $"enc-{v:00}"), kept);
    }
}

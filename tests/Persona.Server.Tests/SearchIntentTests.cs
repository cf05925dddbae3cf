using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Persona.Core.Demo;
using Persona.Core.Search;
using Persona.Hosting;
using Persona.Storage.Sqlite;

namespace Persona.Server.Tests;

/// <summary>
/// Personalised search over a small demo shop with its trained encoder: personalisation re-orders what matches the
/// query and never brings in what doesn't, and a query that matches nothing answers nothing.
/// </summary>
public sealed class SearchIntentTests(SearchIntentTests.DemoShop shop) : IClassFixture<SearchIntentTests.DemoShop>
{
    /// <summary>300 demo shoppers and 2,000 items, imported, indexed and with the text encoder trained, shared by the tests.</summary>
    public sealed class DemoShop : IAsyncLifetime, IAsyncDisposable
    {
        private readonly string _directory = Path.Combine(Path.GetTempPath(), "persona-search-intent", Guid.NewGuid().ToString("n"));

        public PersonaEngine Engine { get; private set; } = null!;
        public SearchService Search { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var store = new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = _directory });
            Engine = new PersonaEngine(store, Options.Create(new PersonaOptions { DataDirectory = _directory }), TimeProvider.System, NullLogger<PersonaEngine>.Instance);
            await Engine.StartAsync(null, CancellationToken.None);
            var generated = new DemoShopGenerator(new DemoOptions { Users = 300, Items = 2000, Days = 60, TargetEventsPerUser = 60 }).Generate();
            await PersonaImporter.ImportShopAsync(Engine, generated, progress: null, CancellationToken.None);
            Search = new SearchService(Engine, Options.Create(new PersonaSearchOptions { WarmUsers = 0 }));
            await Search.LoadAsync(CancellationToken.None);
            await Search.TrainAsync(CancellationToken.None);
        }

        Task IAsyncLifetime.DisposeAsync() => DisposeAsync().AsTask();

        public async ValueTask DisposeAsync()
        {
            Search?.Dispose();
            if (Engine is not null) await Engine.DisposeAsync();
            try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
        }
    }

    private readonly PersonaEngine _engine = shop.Engine;
    private readonly SearchService _search = shop.Search;

    [Fact]
    public void Evaluate_EveryShopperAndExampleQuery_TopResultsMatchCategoryAndPrice()
    {
        var users = _engine.ProfileUsers.ToList();

        var report = SearchIntentEvaluator.Evaluate(_search, users);

        Assert.True(users.Count >= 250, $"{users.Count} shoppers");
        Assert.True(report.PersonalShare >= 0.97, report.ToMarkdown());
        Assert.True(report.PersonalFill >= 0.9, report.ToMarkdown());
        Assert.All(report.Rows, row => Assert.True(row.PersonalShare >= 0.9 && row.UsersBelowHalf == 0, report.ToMarkdown()));
    }

    [Theory]
    [InlineData("zzqxv")]
    [InlineData("qwpzkfj")]
    [InlineData("asdf ghjk")]
    public void Search_JunkQuery_AnswersNothing(string query)
    {
        var user = _engine.ProfileUsers.First();

        Assert.Empty(_search.Search(new SearchRequest { Query = query, Limit = 10 }, null).Hits);
        Assert.Empty(_search.Search(new SearchRequest { Query = query, Limit = 10 }, user).Hits);
    }

    [Fact]
    public void Search_MisspeltProductWord_StillFindsTheProduct()
    {
        var hits = _search.Search(new SearchRequest { Query = "lipstik", Limit = 10 }, null).Hits;

        Assert.NotEmpty(hits);
        Assert.All(hits, h => Assert.Equal("Lipstick", h.Item.CategoryPath[^1]));
    }
}

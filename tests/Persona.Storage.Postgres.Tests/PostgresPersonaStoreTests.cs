using Persona.Abstractions;
using Persona.Storage.Conformance;

using Persona.Storage.Postgres.Testing;

namespace Persona.Storage.Postgres.Tests;

/// <summary>The conformance suite on a real PostgreSQL server, in a schema of its own per test.</summary>
public sealed class PostgresPersonaStoreTests : PersonaStoreConformanceTests
{
    // A small page makes the conformance suite cross page boundaries in every streaming read.
    private const int SmallPage = 7;

    private readonly string _schema = TestPostgres.NewSchema();

    public override async Task InitializeAsync()
    {
        // Fails at once, saying how to start a server, rather than in every store call.
        await (await TestPostgres.OpenAsync()).DisposeAsync();
    }

    protected override async Task<IPersonaStore> CreateStoreAsync()
    {
        var store = new PostgresPersonaStore(TestPostgres.Options(_schema, SmallPage));
        await store.InitializeAsync();
        return store;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await TestPostgres.DropSchemaAsync(_schema);
    }
}

using Microsoft.Extensions.Options;
using Persona.Core.Ingestion;
using Persona.Core.Profiles;
using Persona.Core.Retrieval;
using Persona.Hosting.Privacy;

namespace Persona.Hosting;

/// <summary>Everything Persona reads from the <c>Persona</c> configuration section.</summary>
public sealed class PersonaOptions
{
    public const string SectionName = "Persona";
    public const string DefaultDataDirectory = "data";
    public const int DefaultSnapshotIntervalSeconds = 30;

    /// <summary>Folder of the embedded store (<c>persona.db</c>), models and reports; with another store, of what this node caches.</summary>
    public string DataDirectory { get; set; } = DefaultDataDirectory;

    /// <summary>
    /// <c>data</c> (default): profiles are computed as of the newest event timestamp in the store, so imported
    /// history (e.g. 2014 reviews) yields meaningful lifecycle stages. <c>wall</c>: as of the current time.
    /// </summary>
    public string Clock { get; set; } = ClockModes.Data;

    /// <summary>How often changed profiles are written to the store (they are always served live from memory).</summary>
    public int SnapshotIntervalSeconds { get; set; } = DefaultSnapshotIntervalSeconds;

    /// <summary>Which store holds the data (<see cref="PersonaStoreOptions"/>): the embedded SQLite file by default.</summary>
    public PersonaStoreOptions Store { get; set; } = new();

    public IngestionOptions Ingestion { get; set; } = new();
    public ProfileOptions Profiles { get; set; } = new();

    /// <summary>Checkpoints of derived state (docs/state.md).</summary>
    public StateOptions State { get; set; } = new();

    /// <summary>Pseudonymised user ids (off unless a key is configured).</summary>
    public PersonaPrivacyOptions Privacy { get; set; } = new();
}

/// <summary>The <c>Persona:State</c> section: how derived state is checkpointed.</summary>
public sealed class StateOptions
{
    public const int DefaultPartIntervalSeconds = 600;

    /// <summary>
    /// Least time between two writes of a state part (item pairs, recommendations, search) by the periodic checkpoint; shutdown
    /// and imports always write them. A part is rewritten whole, so this bounds that cost under steady ingest, and a
    /// crash costs at most this much of the log replayed into the parts at the next start.
    /// </summary>
    public int PartIntervalSeconds { get; set; } = DefaultPartIntervalSeconds;

    public const int DefaultMemoryBudgetMiB = 512;

    /// <summary>
    /// Memory for shoppers' profile states (estimated). Above it, states already written to the store and not touched
    /// lately are dropped from memory and read back on their next touch (docs/state.md, "Hot and cold shoppers"); the
    /// periodic checkpoint writes changed ones so they can go too. About 7.5 KB per shopper on Taobao-shaped data (their
    /// event ids counted), so the default keeps some 70,000 shoppers hot and a start decodes half that many; at a million
    /// shoppers that keeps the whole process near 4 GiB (bench/README.md). Shops whose traffic returns to fewer shoppers
    /// than uniformly random requests do gain more from raising it.
    /// </summary>
    public int MemoryBudgetMiB { get; set; } = DefaultMemoryBudgetMiB;

    /// <summary><see cref="MemoryBudgetMiB"/> in bytes.</summary>
    public long MemoryBudgetBytes => (long)MemoryBudgetMiB << 20;

    /// <summary>
    /// The item pairs (recommendations' "next item" counts and search's co-visitation, one structure): an item step
    /// is paired with each of the shopper's previous this-many distinct items.
    /// </summary>
    public int ItemPairWindow { get; set; } = ItemPairs.DefaultWindow;

    /// <summary>Pairs kept per item (both directions); a row that doubles past it keeps its strongest, so memory stays items × this.</summary>
    public int ItemPairNeighbours { get; set; } = ItemPairs.DefaultMaxNeighbours;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (PartIntervalSeconds is < 1 or > 86_400) problems.Add("PartIntervalSeconds must be between 1 and 86400.");
        if (MemoryBudgetMiB is < 1 or > 1_048_576) problems.Add("MemoryBudgetMiB must be between 1 and 1048576.");
        if (ItemPairWindow is < 1 or > 50) problems.Add("ItemPairWindow must be between 1 and 50.");
        if (ItemPairNeighbours is < 10 or > 100_000) problems.Add("ItemPairNeighbours must be between 10 and 100000.");
        return problems;
    }
}

public static class ClockModes
{
    public const string Data = "data";
    public const string Wall = "wall";
}

public sealed class PersonaOptionsValidator : IValidateOptions<PersonaOptions>
{
    public ValidateOptionsResult Validate(string? name, PersonaOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory)) failures.Add("Persona:DataDirectory must be set.");
        if (options.Clock is not (ClockModes.Data or ClockModes.Wall)) failures.Add($"Persona:Clock must be '{ClockModes.Data}' or '{ClockModes.Wall}', not '{options.Clock}'.");
        if (options.SnapshotIntervalSeconds is < 1 or > 3600) failures.Add("Persona:SnapshotIntervalSeconds must be between 1 and 3600.");
        failures.AddRange(options.Store.Validate().Select(p => "Persona:Store: " + p));
        failures.AddRange(options.Ingestion.Validate().Select(p => "Persona:Ingestion: " + p));
        failures.AddRange(options.Profiles.Validate().Select(p => "Persona:Profiles: " + p));
        failures.AddRange(options.State.Validate().Select(p => "Persona:State: " + p));
        failures.AddRange(options.Privacy.Validate());
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

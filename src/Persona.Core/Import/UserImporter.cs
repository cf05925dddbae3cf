using Persona.Abstractions;

namespace Persona.Core.Import;

/// <summary>
/// Streams users from CSV or JSON Lines. CSV columns: <see cref="CsvColumns"/>, only <c>id</c> required; consent
/// flags are true/false, 1/0 or yes/no and default to granted; <c>signup_at</c> is ISO-8601 or unix time;
/// <c>attributes</c> is a JSON object or <c>k=v;k=v</c>.
/// </summary>
public static class UserImporter
{
    public static IReadOnlyList<string> CsvColumns { get; } =
        ["id", "age_band", "gender", "region", "signup_at", "consent_personalization", "consent_marketing", "attributes"];

    private static readonly Importer<User> Engine = new(
        new CsvSchema<User>([.. CsvColumns], ["id"], ParseRow),
        new JsonLinesSchema<User>(["id"], Check));

    public static IAsyncEnumerable<ImportResult<User>> ReadAsync(string path, IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Engine.Read(path, ImportFormats.FromPath(path), progress, cancellationToken);

    public static IAsyncEnumerable<ImportResult<User>> ReadAsync(string path, ImportFormat format, IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Engine.Read(path, format, progress, cancellationToken);

    public static IAsyncEnumerable<ImportResult<User>> ReadAsync(Stream stream, string fileName, ImportFormat format, IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Engine.Read(stream, fileName, format, progress, cancellationToken);

    private static User? ParseRow(CsvFields row)
    {
        var id = row.Required("id");
        var signup = row.Timestamp("signup_at");
        var personalization = row.Bool("consent_personalization");
        var marketing = row.Bool("consent_marketing");
        var attributes = row.Attributes("attributes");
        if (id is null) return null;
        return new User
        {
            Id = id,
            AgeBand = row.Trimmed("age_band"),
            Gender = row.Trimmed("gender"),
            Region = row.Trimmed("region"),
            SignupAt = signup,
            Attributes = attributes,
            Consent = new Consent { Personalization = personalization ?? true, Marketing = marketing ?? true },
        };
    }

    private static User Check(User user, Action<string, string> fail)
    {
        if (string.IsNullOrWhiteSpace(user.Id)) fail("id", "a value is required");
        return user.Attributes is null || user.Consent is null
            ? user with { Attributes = user.Attributes ?? new Dictionary<string, string>(), Consent = user.Consent ?? new Consent() }
            : user;
    }
}

using Persona.Abstractions;

namespace Persona.Core.Ingestion;

/// <summary>
/// Checks users and reports every problem with the user's index and the field's wire name. Stateless and
/// thread-safe.
/// </summary>
/// <remarks>
/// Rules: <c>id</c> follows the id rules; <c>age_band</c>, <c>gender</c> and <c>region</c> bounded like ids;
/// at most <see cref="IngestionOptions.MaxAttributes"/> attributes with bounded keys and values;
/// <c>signup_at</c> not after now + <see cref="IngestionOptions.MaxFutureSkew"/>.
/// </remarks>
public sealed class UserValidator(IngestionOptions options)
{
    private readonly IngestionOptions _options = options ?? throw new ArgumentNullException(nameof(options));

    /// <summary>All problems of the batch (including its size); empty when every user is acceptable.</summary>
    public IReadOnlyList<FieldError> Validate(IReadOnlyList<User> batch, DateTimeOffset now)
    {
        var errors = new List<FieldError>();
        FieldRules.Batch(errors, "users", batch, _options.MaxBatchSize);
        if (batch is null) return errors;
        for (var i = 0; i < batch.Count; i++) Check(errors, i, batch[i], now);
        return errors;
    }

    /// <summary>All problems of one user; <paramref name="index"/> is copied into each error.</summary>
    public IReadOnlyList<FieldError> Validate(User user, DateTimeOffset now, int? index = null)
    {
        var errors = new List<FieldError>();
        Check(errors, index, user, now);
        return errors;
    }

    private void Check(List<FieldError> errors, int? i, User? user, DateTimeOffset now)
    {
        if (user is null)
        {
            errors.Add(new FieldError(i, "user", "must not be null."));
            return;
        }
        FieldRules.RequiredId(errors, i, "id", user.Id, _options.MaxIdLength);
        FieldRules.OptionalId(errors, i, "age_band", user.AgeBand, _options.MaxIdLength);
        FieldRules.OptionalId(errors, i, "gender", user.Gender, _options.MaxIdLength);
        FieldRules.OptionalId(errors, i, "region", user.Region, _options.MaxIdLength);
        FieldRules.Attributes(errors, i, user.Attributes, _options);
        if (user.SignupAt is { } signup && signup > now + _options.MaxFutureSkew)
            errors.Add(new FieldError(i, "signup_at", $"lies in the future (more than {_options.MaxFutureSkew} after the server clock {now:O})."));
        if (user.Consent is null)
            errors.Add(new FieldError(i, "consent", "must not be null (leave it out for the defaults)."));
    }
}

using Persona.Abstractions;

namespace Persona.Core.Ingestion;

/// <summary>
/// Checks catalog items and reports every problem with the item's index and the field's wire name.
/// Stateless and thread-safe.
/// </summary>
/// <remarks>
/// Rules: <c>id</c> follows the id rules; <c>title</c> at most <see cref="IngestionOptions.MaxTextBytes"/>
/// and <c>description</c> at most <see cref="IngestionOptions.MaxDescriptionBytes"/> UTF-8 bytes;
/// <c>price</c> finite, non-negative and at most <see cref="IngestionOptions.MaxValue"/>; <c>currency</c>
/// three upper-case letters (ISO 4217); <c>category_path</c> at most
/// <see cref="IngestionOptions.MaxCategoryDepth"/> segments, each non-blank, bounded like an id and free of
/// the path separator <c>" &gt; "</c>; <c>brand</c> bounded like an id; at most
/// <see cref="IngestionOptions.MaxAttributes"/> attributes with bounded keys and values; a
/// <c>category_path_zh</c> attribute must have as many segments as <c>category_path</c>.
/// </remarks>
public sealed class ItemValidator(IngestionOptions options)
{
    private readonly IngestionOptions _options = options ?? throw new ArgumentNullException(nameof(options));

    /// <summary>All problems of the batch (including its size); empty when every item is acceptable.</summary>
    public IReadOnlyList<FieldError> Validate(IReadOnlyList<Item> batch)
    {
        var errors = new List<FieldError>();
        FieldRules.Batch(errors, "items", batch, _options.MaxBatchSize);
        if (batch is null) return errors;
        for (var i = 0; i < batch.Count; i++) Check(errors, i, batch[i]);
        return errors;
    }

    /// <summary>All problems of one item; <paramref name="index"/> is copied into each error.</summary>
    public IReadOnlyList<FieldError> Validate(Item item, int? index = null)
    {
        var errors = new List<FieldError>();
        Check(errors, index, item);
        return errors;
    }

    private void Check(List<FieldError> errors, int? i, Item? item)
    {
        if (item is null)
        {
            errors.Add(new FieldError(i, "item", "must not be null."));
            return;
        }
        FieldRules.RequiredId(errors, i, "id", item.Id, _options.MaxIdLength);
        if (item.Title is null) errors.Add(new FieldError(i, "title", "must not be null."));
        else FieldRules.Text(errors, i, "title", item.Title, _options.MaxTextBytes);
        FieldRules.Text(errors, i, "description", item.Description, _options.MaxDescriptionBytes);
        if (item.Price is { } price)
        {
            if (!double.IsFinite(price)) errors.Add(new FieldError(i, "price", "must be a finite number."));
            else if (price < 0) errors.Add(new FieldError(i, "price", "must not be negative."));
            else if (price > _options.MaxValue) errors.Add(new FieldError(i, "price", $"must be at most {_options.MaxValue}."));
        }
        if (item.Currency is not { Length: 3 } currency || !currency.All(char.IsAsciiLetterUpper))
            errors.Add(new FieldError(i, "currency", "must be three upper-case letters (ISO 4217), e.g. CNY."));
        FieldRules.OptionalId(errors, i, "brand", item.Brand, _options.MaxIdLength);

        var path = item.CategoryPath;
        if (path is null)
        {
            errors.Add(new FieldError(i, "category_path", "must not be null (send [] when unknown)."));
        }
        else
        {
            if (path.Count > _options.MaxCategoryDepth)
                errors.Add(new FieldError(i, "category_path", $"has {path.Count} levels; at most {_options.MaxCategoryDepth} are allowed."));
            for (var level = 0; level < path.Count; level++)
            {
                var field = $"category_path[{level}]";
                var segment = path[level];
                if (string.IsNullOrWhiteSpace(segment))
                {
                    errors.Add(new FieldError(i, field, "must not be blank."));
                    continue;
                }
                FieldRules.Bounded(errors, i, field, segment, _options.MaxIdLength, allowWhitespaceControls: false);
                if (segment.Contains(CategoryPaths.Separator, StringComparison.Ordinal))
                    errors.Add(new FieldError(i, field, $"must not contain the path separator '{CategoryPaths.Separator}'."));
            }
        }

        FieldRules.Attributes(errors, i, item.Attributes, _options);
        if (path is not null && item.Attributes is not null
            && item.Attributes.TryGetValue("category_path_zh", out var zh) && zh is not null)
        {
            var zhDepth = zh.Split(CategoryPaths.Separator).Length;
            if (zhDepth != path.Count)
                errors.Add(new FieldError(i, "attributes.category_path_zh",
                    $"has {zhDepth} segments (joined by '{CategoryPaths.Separator}') but category_path has {path.Count}."));
        }
    }
}

namespace Persona.Core.Ingestion;

/// <summary>
/// One problem with one field of a request. <see cref="Index"/> is the record's position in its batch
/// (null for problems with the batch as a whole); <see cref="Field"/> is the wire (snake_case) name,
/// with a sub-path where useful (<c>category_path[2]</c>, <c>attributes.color</c>).
/// </summary>
public sealed record FieldError(int? Index, string Field, string Message)
{
    /// <summary>The error's location in a request whose batch property is <paramref name="collection"/>, e.g. <c>events[3].item_id</c>.</summary>
    public string Path(string collection) =>
        Index is { } i ? $"{collection}[{i}].{Field}" : Field;
}

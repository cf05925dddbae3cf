using System.Runtime.CompilerServices;
using Persona.Core.Profiles;
using Persona.Generative.Summaries;

namespace Persona.Hosting.Generative;

/// <summary>The catalog's names a model's text is checked against (<see cref="SummaryVocabulary"/>), built once per catalog snapshot.</summary>
internal static class CatalogVocabulary
{
    private static readonly ConditionalWeakTable<CatalogSnapshot, SummaryVocabulary> Built = [];

    public static SummaryVocabulary Of(CatalogSnapshot catalog) =>
        Built.GetValue(catalog, static c => SummaryVocabulary.Create(
            c.Categories.SelectMany(n => new[] { n.LabelEn, n.LabelZh }),
            c.Brands.SelectMany(b => { var (en, zh) = c.BrandLabel(b); return new[] { en, zh }; })));
}

using System.Globalization;

namespace Persona.Core.Online;

/// <summary>A note for the people reading a report, in English and Chinese.</summary>
public sealed record ReportNote(string En, string Zh);

/// <summary>A variant against the control: CTR and conversion by two-proportion z-tests, revenue per impression by Welch's t.</summary>
public sealed record VariantTests(TestResult Ctr, TestResult Conversion, TestResult RevenuePerImpression);

/// <summary>One variant's counts and figures since the experiment started.</summary>
public sealed record VariantFigures(
    string Name, double Traffic, string Label, long Served, long Impressions, long Clicks, long Carts, long Purchases, double Revenue,
    OnlineFigures Figures, VariantTests? VsControl, ReportNote? Warning);

/// <summary>An experiment's figures per variant, and those of shoppers kept out of it for want of consent.</summary>
public sealed record ExperimentReport(Experiment Experiment, IReadOnlyList<VariantFigures> Variants, VariantFigures? Excluded)
{
    /// <summary>The variant name shoppers without personalisation consent are counted under.</summary>
    public const string ExcludedVariant = "(no consent)";

    /// <summary>Significance level the summary calls a difference at.</summary>
    public const double Alpha = 0.05;

    public static ExperimentReport Empty(Experiment experiment) => Of(experiment, _ => default);

    /// <param name="experiment">The experiment.</param>
    /// <param name="countsOf">The counts of a variant label since the start.</param>
    public static ExperimentReport Of(Experiment experiment, Func<string, OnlineCounts> countsOf)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(countsOf);
        var control = countsOf(experiment.VariantLabel(experiment.Control.Name));
        var variants = experiment.Variants.Select((v, i) =>
        {
            var counts = countsOf(experiment.VariantLabel(v.Name));
            return Figures(v.Name, v.Traffic, experiment.VariantLabel(v.Name), counts, i == 0 ? null : Test(control, counts), experiment.MinSample);
        }).ToList();
        var excluded = countsOf(experiment.ExcludedLabel);
        return new ExperimentReport(experiment, variants,
            excluded.Served + excluded.Impressions > 0 ? Figures(ExcludedVariant, 0, experiment.ExcludedLabel, excluded, null, minSample: 0) : null);
    }

    /// <summary>One line per tested variant, for the audit log: its CTR and conversion against the control's, with p.</summary>
    public string Summary => string.Join("; ", Variants.Select(v => v.VsControl is { } t
        ? string.Create(CultureInfo.InvariantCulture, $"{v.Name}: CTR {v.Figures.Ctr.Estimate:P2} ({t.Ctr.Difference:+0.00%;-0.00%}, p={t.Ctr.PValue:0.####}), conversion {v.Figures.Conversion.Estimate:P2} (p={t.Conversion.PValue:0.####}), n={v.Figures.Shown}")
        : string.Create(CultureInfo.InvariantCulture, $"{v.Name} (control): CTR {v.Figures.Ctr.Estimate:P2}, conversion {v.Figures.Conversion.Estimate:P2}, n={v.Figures.Shown}")));

    private static VariantFigures Figures(string name, double traffic, string label, OnlineCounts counts, VariantTests? tests, int minSample)
    {
        var figures = OnlineFigures.Of(counts);
        ReportNote? warning = figures.Shown < minSample
            ? new ReportNote(
                string.Create(CultureInfo.InvariantCulture, $"Only {figures.Shown:N0} {figures.Basis} so far, below the minimum sample of {minSample:N0}: differences are not yet reliable."),
                string.Create(CultureInfo.InvariantCulture, $"目前仅有 {figures.Shown:N0} 次{(figures.Basis == OnlineFigures.ImpressionsBasis ? "曝光" : "展示")}，低于最小样本量 {minSample:N0}，差异尚不可靠。"))
            : null;
        return new VariantFigures(name, traffic, label, counts.Served, counts.Impressions, counts.Clicks, counts.Carts, counts.Purchases,
            Math.Round(counts.Revenue, 2), figures, tests, warning);
    }

    private static VariantTests Test(in OnlineCounts control, in OnlineCounts variant)
    {
        var a = OnlineFigures.Of(control);
        var b = OnlineFigures.Of(variant);
        return new VariantTests(
            Significance.TwoProportion(Math.Min(control.Clicks, a.Shown), a.Shown, Math.Min(variant.Clicks, b.Shown), b.Shown),
            Significance.TwoProportion(Math.Min(control.Purchases, a.Shown), a.Shown, Math.Min(variant.Purchases, b.Shown), b.Shown),
            Significance.Welch(a.Shown, control.Revenue, control.RevenueSquares, b.Shown, variant.Revenue, variant.RevenueSquares));
    }
}

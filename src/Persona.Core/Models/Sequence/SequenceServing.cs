using System.Text.Json;
using System.Text.Json.Serialization;
using Persona.Core.Evaluation.NextItem;

namespace Persona.Core.Models.Sequence;

/// <summary>How a version came to serve (or not), as the audit log, the manifest and <c>serving.json</c> name it.</summary>
public static class SequenceServingDecisions
{
    /// <summary>The first model of a folder: nothing served before, so there was nothing to compare with.</summary>
    public const string First = "first";

    /// <summary>Passed the gate: its validation NDCG@10 was at least the serving model's on the same split.</summary>
    public const string Passed = "passed";

    /// <summary>Failed the gate: stored, not served.</summary>
    public const string Rejected = "rejected";

    /// <summary>Served without the gate's say (<c>persona train --force</c>).</summary>
    public const string Forced = "forced";

    /// <summary>Served by hand (<c>persona models promote</c>, <c>POST /v1/admin/models/{version}/promote</c>).</summary>
    public const string Promoted = "promoted";

    /// <summary>The newest version of a folder written before the pointer existed, pinned when the pointer was first written.</summary>
    public const string Adopted = "adopted";
}

/// <summary>The gate's verdict on a newly trained model, kept in its manifest.</summary>
/// <param name="Decision">One of <see cref="SequenceServingDecisions"/>: first, passed, rejected or forced.</param>
/// <param name="CandidateNdcg10">The new model's validation NDCG@10 (its best epoch).</param>
/// <param name="ServingVersion">The model it was compared with; null for the first.</param>
/// <param name="ServingNdcg10">That model's NDCG@10 on the new data's validation split; null for the first.</param>
public sealed record SequenceGateOutcome(string Decision, double CandidateNdcg10, string? ServingVersion, double? ServingNdcg10)
{
    /// <summary>Whether the version serves after training.</summary>
    [JsonIgnore]
    public bool Serves => Decision != SequenceServingDecisions.Rejected;

    /// <summary>One line for logs and the audit log, with both figures.</summary>
    public string Describe() => Decision switch
    {
        SequenceServingDecisions.First => $"validation NDCG@10 {CandidateNdcg10:0.0000}; no model served before",
        _ => $"validation NDCG@10 {CandidateNdcg10:0.0000} vs {ServingNdcg10:0.0000} of serving {ServingVersion} on the same split",
    };
}

/// <summary>One step of the serving history: which version started serving, when, how and by whom.</summary>
public sealed record SequenceServingEntry(string Version, DateTimeOffset At, string Decision, string Actor);

/// <summary>
/// <c>DATA/models/sequence/serving.json</c>: which version serves (the last entry of <see cref="History"/>) and the ones
/// that served before it, newest last, so a rollback returns to the previous one. Written whole to a temporary file
/// and renamed over the old one, so a reader sees the old pointer or the new, never half of one.
/// </summary>
public sealed record SequenceServingPointer
{
    public const string FileName = "serving.json";

    /// <summary>Entries kept; older ones drop off (the audit log keeps every decision).</summary>
    public const int MaxHistory = 20;

    public IReadOnlyList<SequenceServingEntry> History { get; init; } = [];

    /// <summary>The serving version (the newest entry), null for an empty history.</summary>
    public string? Version => History.Count > 0 ? History[^1].Version : null;

    /// <summary>The version a rollback returns to, null when there is none.</summary>
    [JsonIgnore]
    public string? Previous => History.Count > 1 ? History[^2].Version : null;

    /// <summary>This pointer with <paramref name="entry"/> serving.</summary>
    public SequenceServingPointer With(SequenceServingEntry entry) => new() { History = [.. History.Skip(Math.Max(0, History.Count + 1 - MaxHistory)), entry] };

    /// <summary>This pointer with the serving entry dropped (the previous one serves again).</summary>
    public SequenceServingPointer RolledBack() => new() { History = [.. History.Take(History.Count - 1)] };

    public string ToJson() => JsonSerializer.Serialize(this, SequenceModelManifest.Json);

    public static SequenceServingPointer FromJson(string json) =>
        JsonSerializer.Deserialize<SequenceServingPointer>(json, SequenceModelManifest.Json) ?? throw new InvalidDataException("Empty serving pointer.");
}

/// <summary>A version asked for (promote) that the folder does not hold.</summary>
public sealed class UnknownModelVersionException(string version, string message) : KeyNotFoundException(message)
{
    public string Version { get; } = version;
}

/// <summary>
/// The serving gate: a newly trained model serves only if its validation NDCG@10 is at least the serving model's, both
/// final models measured the same way on the validation split of the data the new model was trained on.
/// </summary>
public static class SequenceModelGate
{
    /// <summary>The verdict on <paramref name="candidate"/>; <paramref name="force"/> serves it whatever the figures say (both are still measured).</summary>
    public static SequenceGateOutcome Judge(SequenceTrainingResult candidate, SequenceModel? serving, SequenceDataset data, bool force)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(data);
        if (serving is null) return new SequenceGateOutcome(SequenceServingDecisions.First, candidate.BestValidationNdcg10, null, null);
        // Both models are measured the same way, as they would serve: the candidate after its refit, which has learned
        // the validation steps, like the serving model has learned those it saw. Its best-epoch figure (before the
        // refit) would be compared with a model that trained on the very steps it is judged on, and would rarely win.
        var candidateNdcg = Validate(candidate.Model, data);
        var servingNdcg = Validate(serving, data);
        var decision = force ? SequenceServingDecisions.Forced
            : candidateNdcg >= servingNdcg ? SequenceServingDecisions.Passed
            : SequenceServingDecisions.Rejected;
        return new SequenceGateOutcome(decision, candidateNdcg, serving.Version, servingNdcg);
    }

    /// <summary>
    /// Validation NDCG@10 of a stored model on another run's data set (the same users and split the trainer validates
    /// on: every user with three or more steps).
    /// </summary>
    public static double Validate(SequenceModel model, SequenceDataset data)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var users = Enumerable.Range(0, data.Users.Count).Where(u => data.Users[u].Length >= 3).ToArray();
        if (users.Length == 0) return 0;
        return NextItemEvaluator.Evaluate(data, new ForeignModelScorer(model, data.Vocabulary), NextItemSplit.Validation, users).Ndcg(10);
    }
}

/// <summary>
/// Scores a data set's items with a model trained on another vocabulary: histories are read through the model's own
/// item table (steps on items it does not know are left out, as serving skips them), and an item it does not know
/// scores lowest, so a model is never credited for items it cannot rank.
/// </summary>
internal sealed class ForeignModelScorer : INextItemScorer
{
    private readonly SequenceModel _model;
    private readonly int[] _rows; // data item index → model row (0: unknown)

    public ForeignModelScorer(SequenceModel model, SequenceVocabulary vocabulary)
    {
        _model = model;
        _rows = new int[vocabulary.ItemCount + 1];
        for (var i = 1; i <= vocabulary.ItemCount; i++) _rows[i] = model.Vocabulary.ItemIndex(vocabulary.ItemId(i));
    }

    public string Name => "serving model " + _model.Version;

    public void Score(SequenceDataset data, ReadOnlySpan<int> users, NextItemSplit split, Span<float> scores)
    {
        var d = _model.Dimension;
        var seqs = new UserSequence[users.Length];
        var lengths = new int[users.Length];
        for (var i = 0; i < users.Length; i++)
        {
            var user = data.Users[users[i]];
            seqs[i] = Translate(user, SequenceDataset.HistoryLength(user, split));
            lengths[i] = seqs[i].Length;
        }
        var vectors = new float[users.Length * d]; // (users, dim)
        SequenceModel.EncodeHistories(_model.Network, _model.ItemTable, seqs, lengths, vectors);
        var rows = _model.Vocabulary.ItemCount + 1;
        var own = new float[users.Length * rows]; // (users, model rows)
        _model.ScoreAll(vectors, users.Length, own);
        var width = _rows.Length;
        for (var u = 0; u < users.Length; u++)
        {
            var target = scores.Slice(u * width, width);
            var source = own.AsSpan(u * rows, rows);
            for (var i = 0; i < width; i++) target[i] = _rows[i] > 0 ? source[_rows[i]] : float.MinValue;
        }
    }

    /// <summary>The first <paramref name="length"/> steps of a user in the model's item indices, unknown items left out.</summary>
    private UserSequence Translate(UserSequence user, int length)
    {
        var items = new List<int>(length);
        var types = new List<byte>(length);
        var gaps = new List<byte>(length);
        for (var t = 0; t < length; t++)
        {
            var row = _rows[user.Items[t]];
            if (row <= 0) continue;
            items.Add(row);
            types.Add(user.Types[t]);
            gaps.Add(user.Gaps[t]);
        }
        return new UserSequence(user.UserId, [.. items], [.. types], [.. gaps]);
    }
}

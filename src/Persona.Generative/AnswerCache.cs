using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Persona.Generative;

/// <summary>
/// Answers kept by the hash of what was asked (model, messages, settings) for <see cref="GenerativeOptions.CacheMinutes"/>,
/// at most <see cref="Capacity"/> of them: the same query or segment asked twice costs one call.
/// </summary>
internal sealed class AnswerCache(TimeSpan lifetime, TimeProvider time)
{
    public const int Capacity = 8_192;

    private readonly ConcurrentDictionary<string, (GenerativeAnswer Answer, DateTimeOffset Expires)> _answers = new(StringComparer.Ordinal);

    public static string Key(string model, IEnumerable<string> parts)
    {
        var text = new StringBuilder(model);
        foreach (var part in parts) text.Append('\u001f').Append(part);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    public bool TryGet(string key, out GenerativeAnswer answer)
    {
        answer = null!;
        if (lifetime <= TimeSpan.Zero || !_answers.TryGetValue(key, out var held)) return false;
        if (held.Expires <= time.GetUtcNow())
        {
            _answers.TryRemove(key, out _);
            return false;
        }
        answer = held.Answer;
        return true;
    }

    public void Put(string key, GenerativeAnswer answer)
    {
        if (lifetime <= TimeSpan.Zero) return;
        if (_answers.Count >= Capacity)
        {
            // Expired ones first; when none are, the half that expires soonest (the oldest answers).
            var now = time.GetUtcNow();
            foreach (var (k, v) in _answers)
                if (v.Expires <= now) _answers.TryRemove(k, out _);
            if (_answers.Count >= Capacity)
                foreach (var (k, _) in _answers.OrderBy(e => e.Value.Expires).Take(Capacity / 2).ToList()) _answers.TryRemove(k, out _);
        }
        _answers[key] = (answer, time.GetUtcNow() + lifetime);
    }
}

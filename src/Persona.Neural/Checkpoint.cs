using System.Text.Json;
using Persona.Neural.Modules;
using Persona.Neural.Serialization;

namespace Persona.Neural;

/// <summary>
/// Saves and loads a module tree as a checkpoint directory in the Hugging Face layout: <c>model.safetensors</c>
/// (every parameter under its dotted path, float32) and <c>config.json</c> beside it (the hyper-parameters needed to
/// rebuild the module before loading).
/// </summary>
public static class Checkpoint
{
    public const string WeightsFileName = "model.safetensors";
    public const string ConfigFileName = "config.json";

    private static readonly JsonSerializerOptions ConfigJson = new() { WriteIndented = true };

    /// <summary>Writes the module's parameters and, when given, its configuration (serialised with System.Text.Json).</summary>
    public static void Save(Module module, string directory, object? config = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        var tensors = new Dictionary<string, (int[] Shape, float[] Data)>(StringComparer.Ordinal);
        foreach (var (name, p) in module.NamedParameters())
        {
            tensors.Add(name, ([.. p.Shape], p.ToArray()));
        }

        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            ["format"] = "pt",
            ["persona.module"] = module.GetType().Name,
        };
        SafeTensorsFile.Write(Path.Combine(directory, WeightsFileName), tensors, meta);
        if (config is not null)
        {
            var target = Path.Combine(directory, ConfigFileName);
            var temp = target + ".tmp";
            File.WriteAllText(temp, JsonSerializer.Serialize(config, config.GetType(), ConfigJson));
            File.Move(temp, target, overwrite: true);
        }
    }

    /// <summary>
    /// Copies the checkpoint's tensors into the module's parameters by name. Strict (default): every parameter must be
    /// present with the same shape and the file may hold nothing else; otherwise missing tensors are left as they are
    /// and extra ones ignored. Returns the names of the parameters that were loaded.
    /// </summary>
    public static IReadOnlyList<string> Load(Module module, string directory, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        var path = Path.Combine(directory, WeightsFileName);
        var file = SafeTensorsFile.Read(path);
        var loaded = new List<string>();
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, p) in module.NamedParameters())
        {
            expected.Add(name);
            if (!file.TryGet(name, out var tensor))
            {
                if (strict)
                {
                    throw new InvalidDataException($"Checkpoint '{path}' has no tensor '{name}'.");
                }

                continue;
            }

            if (!tensor.Shape.AsSpan().SequenceEqual([.. p.Shape]))
            {
                throw new InvalidDataException(
                    $"Tensor '{name}' in '{path}' has shape ({string.Join(", ", tensor.Shape)}); the module expects ({string.Join(", ", p.Shape)}).");
            }

            tensor.Data.CopyTo(p.Data);
            loaded.Add(name);
        }

        if (strict)
        {
            var extra = file.Names.Where(n => !expected.Contains(n)).ToArray();
            if (extra.Length > 0)
            {
                throw new InvalidDataException($"Checkpoint '{path}' holds tensors the module lacks: {string.Join(", ", extra.Take(5))}.");
            }
        }

        return loaded;
    }

    /// <summary>Reads <c>config.json</c> from a checkpoint directory.</summary>
    public static T ReadConfig<T>(string directory)
    {
        var path = Path.Combine(directory, ConfigFileName);
        return JsonSerializer.Deserialize<T>(File.ReadAllText(path), ConfigJson)
            ?? throw new InvalidDataException($"'{path}' is empty.");
    }
}

namespace Persona.Neural.Modules;

/// <summary>
/// A tree of parameters and sub-modules. Parameters are named by their path, e.g. <c>layers.0.attn.q.weight</c>;
/// checkpoints and optimisers see the tree through <see cref="NamedParameters"/>. Train/eval mode propagates down.
/// </summary>
public abstract class Module
{
    private readonly List<KeyValuePair<string, Tensor>> _parameters = [];
    private readonly List<KeyValuePair<string, Module>> _children = [];

    /// <summary>True in training mode (dropout active).</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Every parameter with its dotted path, depth first, in registration order.</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters()
    {
        foreach (var (name, p) in _parameters)
        {
            yield return (name, p);
        }

        foreach (var (childName, child) in _children)
        {
            foreach (var (name, p) in child.NamedParameters())
            {
                yield return ($"{childName}.{name}", p);
            }
        }
    }

    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>Direct and nested sub-modules with their dotted paths.</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules()
    {
        foreach (var (childName, child) in _children)
        {
            yield return (childName, child);
            foreach (var (name, m) in child.NamedModules())
            {
                yield return ($"{childName}.{name}", m);
            }
        }
    }

    /// <summary>Number of trainable scalars.</summary>
    public long ParameterCount => Parameters().Sum(p => (long)p.Length);

    /// <summary>Sets training mode on this module and all below it.</summary>
    public void Train(bool training = true)
    {
        Training = training;
        foreach (var (_, child) in _children)
        {
            child.Train(training);
        }
    }

    /// <summary>Inference mode: dropout off.</summary>
    public void Eval() => Train(false);

    public void ZeroGrad()
    {
        foreach (var p in Parameters())
        {
            p.ZeroGrad();
        }
    }

    protected Tensor RegisterParameter(string name, Tensor parameter)
    {
        CheckName(name);
        if (!parameter.IsParameter)
        {
            throw new ArgumentException("Only tensors made by Tensor.Parameter can be registered.", nameof(parameter));
        }

        parameter.Name ??= name;
        _parameters.Add(new(name, parameter));
        return parameter;
    }

    protected T RegisterModule<T>(string name, T module)
        where T : Module
    {
        CheckName(name);
        _children.Add(new(name, module));
        return module;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Invalid name '{name}': non-empty, without dots.", nameof(name));
        }

        if (_parameters.Any(p => p.Key == name) || _children.Any(c => c.Key == name))
        {
            throw new ArgumentException($"Name '{name}' is already registered.", nameof(name));
        }
    }
}

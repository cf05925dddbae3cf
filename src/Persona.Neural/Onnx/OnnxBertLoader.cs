using System.Globalization;
using Persona.Neural.Bert;
using Persona.Neural.Text;

namespace Persona.Neural.Onnx;

/// <summary>
/// Builds a <see cref="BertEncoder"/> from a BERT exported to ONNX (e.g. all-MiniLM-L6-v2 by torch.onnx.export).
/// Exports store the dense weights transposed, (in, out), as anonymous initializers (<c>onnx::MatMul_1234</c> or just
/// <c>927</c>), so weights are found by walking the graph, not by name: every MatMul on a constant matrix followed by an
/// Add of a constant vector is a dense layer; every LayerNormalization node, or its decomposed form
/// (… / Sqrt(var + eps) · γ + β), is a norm; in graph order they form the embedding norm, then per layer
/// Q/K/V, attention output, norm, intermediate, output, norm. Q, K and V are told apart by where they flow: V into the
/// MatMul after Softmax, Q and K into the left and right of the score MatMul.
/// </summary>
public static class OnnxBertLoader
{
    /// <summary>Builds the encoder; <paramref name="numAttentionHeads"/> when the graph does not reveal it.</summary>
    /// <param name="model">The parsed ONNX model.</param>
    /// <param name="tokenizer">The model's vocabulary and casing.</param>
    /// <param name="maxLength">Sequence limit including special tokens (default: the position table's size).</param>
    /// <param name="numAttentionHeads">Heads, when the score scaling constant is not in the graph.</param>
    /// <param name="source">Names the model in errors.</param>
    /// <exception cref="InvalidDataException">The graph is not a BERT encoder this reader understands.</exception>
    public static BertEncoder Load(
        OnnxModel model, WordPieceTokenizer tokenizer, int? maxLength = null, int? numAttentionHeads = null, string source = "model")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var graph = new GraphIndex(model, source);
        var (word, position, type) = graph.FindEmbeddings();
        int vocab = (int)word.Dims[0];
        int h = (int)word.Dims[1];

        var steps = graph.FindDenseAndNorms();
        if (steps.Count == 0 || steps[0].Norm is null)
        {
            throw graph.Error("no LayerNorm after the embeddings");
        }

        var layers = new List<LayerWeights>();
        int intermediate = 0;
        int at = 1;
        const int StepsPerLayer = 8;
        while (at + StepsPerLayer <= steps.Count && steps[at].Dense is not null && steps[at + 4].Norm is not null)
        {
            var layer = steps.GetRange(at, StepsPerLayer);
            var qkv = graph.OrderQueryKeyValue(layer[0], layer[1], layer[2]);
            var inner = layer[5].Dense ?? throw graph.Error($"layer {layers.Count}: no intermediate dense");
            intermediate = inner.Out;
            layers.Add(new LayerWeights(
                BertWeights.Fuse(qkv[0], qkv[1], qkv[2]),
                layer[3].Dense ?? throw graph.Error($"layer {layers.Count}: no attention output dense"),
                layer[4].Norm!,
                inner,
                layer[6].Dense ?? throw graph.Error($"layer {layers.Count}: no output dense"),
                layer[7].Norm ?? throw graph.Error($"layer {layers.Count}: no output LayerNorm")));
            CheckLayerShapes(graph, layers[^1], h, layers.Count - 1);
            at += StepsPerLayer;
        }

        if (layers.Count == 0)
        {
            throw graph.Error("no encoder layer (dense ×4, norm, dense ×2, norm) found");
        }

        // A pooler is the one dense left after the last layer (a Gemm or MatMul+Add, then Tanh).
        var rest = steps.Skip(at).ToList();
        DenseWeights? pooler = rest is [{ Dense: { } p }] && p.Out == h && p.In == h ? p : null;
        if (rest.Count > 0 && pooler is null)
        {
            throw graph.Error($"{rest.Count} dense/norm step(s) after the last encoder layer that are not a pooler");
        }

        int heads = numAttentionHeads ?? graph.InferHeads(h)
            ?? throw graph.Error("the number of attention heads cannot be read from the graph; pass it");
        var config = new BertConfig
        {
            VocabSize = vocab,
            HiddenSize = h,
            NumHiddenLayers = layers.Count,
            NumAttentionHeads = heads,
            IntermediateSize = intermediate,
            MaxPositionEmbeddings = (int)position.Dims[0],
            TypeVocabSize = (int)type.Dims[0],
            LayerNormEps = graph.Epsilon ?? 1e-12,
            HiddenAct = graph.InferActivation(),
        };
        config.Validate(source);
        if (tokenizer.VocabularySize > vocab)
        {
            throw new InvalidDataException(
                $"'{source}': the vocabulary has {tokenizer.VocabularySize} tokens but the model only {vocab} embeddings.");
        }

        var weights = new BertWeights(
            word.ToFloats(), position.ToFloats(), type.ToFloats(), steps[0].Norm!, [.. layers], pooler);
        int limit = Math.Min(maxLength ?? int.MaxValue, config.MaxPositionEmbeddings);
        return new BertEncoder(config, tokenizer, weights, limit);
    }

    private static void CheckLayerShapes(GraphIndex graph, LayerWeights layer, int h, int index)
    {
        if (layer.QueryKeyValue.Out != 3 * h || layer.QueryKeyValue.In != h ||
            layer.AttentionOutput.Out != h || layer.AttentionOutput.In != h ||
            layer.Intermediate.In != h || layer.Output.Out != h || layer.Output.In != layer.Intermediate.Out ||
            layer.AttentionNorm.Gamma.Length != h || layer.OutputNorm.Gamma.Length != h)
        {
            throw graph.Error($"layer {index}: dense shapes do not match hidden size {h}");
        }
    }

    /// <summary>A dense layer or a norm, at the graph position of the node that defines it.</summary>
    private sealed record Step(int NodeIndex, DenseWeights? Dense, NormWeights? Norm, string Output);

    private sealed class GraphIndex
    {
        private readonly OnnxModel _model;
        private readonly string _source;
        private readonly Dictionary<string, int> _producer = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<(int Node, int Input)>> _consumers = new(StringComparer.Ordinal);
        private readonly Dictionary<DenseWeights, string> _denseOutputs = [];

        public GraphIndex(OnnxModel model, string source)
        {
            _model = model;
            _source = source;
            for (int i = 0; i < model.Nodes.Count; i++)
            {
                var node = model.Nodes[i];
                foreach (string output in node.Outputs)
                {
                    _producer[output] = i;
                }

                for (int k = 0; k < node.Inputs.Count; k++)
                {
                    if (!_consumers.TryGetValue(node.Inputs[k], out var list))
                    {
                        _consumers[node.Inputs[k]] = list = [];
                    }

                    list.Add((i, k));
                }
            }
        }

        /// <summary>LayerNorm ε as the graph states it (the first one found).</summary>
        public double? Epsilon { get; private set; }

        public InvalidDataException Error(string what) =>
            new($"'{_source}' is not a BERT encoder graph this reader understands: {what}.");

        // word, position and token-type tables: Gathers on constant (rows, hidden) matrices, told apart by their indices.
        public (OnnxTensor Word, OnnxTensor Position, OnnxTensor Type) FindEmbeddings()
        {
            OnnxTensor? word = null, position = null, type = null;
            foreach (var node in _model.Nodes)
            {
                if (node.OpType != "Gather" || node.Inputs.Count < 2 || !TryFloatMatrix(node.Inputs[0], out var table))
                {
                    continue;
                }

                string? input = TraceToGraphInput(node.Inputs[1]);
                if (input is not null && input.Contains("token_type", StringComparison.Ordinal))
                {
                    type = table;
                }
                else if (input is not null && input.Contains("input_ids", StringComparison.Ordinal))
                {
                    word = table;
                }
                else
                {
                    position = table;
                }
            }

            if (word is null || position is null || type is null)
            {
                throw Error("the word, position and token-type embedding lookups (Gather on input_ids, positions, token_type_ids) were not all found");
            }

            return (word, position, type);
        }

        public List<Step> FindDenseAndNorms()
        {
            var steps = new List<Step>();
            for (int i = 0; i < _model.Nodes.Count; i++)
            {
                var node = _model.Nodes[i];
                switch (node.OpType)
                {
                    case "MatMul" when node.Inputs.Count == 2 && TryFloatMatrix(node.Inputs[1], out var transposed):
                        if (SingleConsumer(node.Outputs[0]) is { } add && _model.Nodes[add].OpType == "Add" &&
                            OtherInput(_model.Nodes[add], node.Outputs[0]) is { } biasName &&
                            TryFloatVector(biasName, out var bias) && bias.Length == transposed.Dims[1])
                        {
                            var dense = new DenseWeights(Transpose(transposed), bias, (int)transposed.Dims[1], (int)transposed.Dims[0]);
                            _denseOutputs[dense] = _model.Nodes[add].Outputs[0];
                            steps.Add(new Step(i, dense, null, _model.Nodes[add].Outputs[0]));
                        }

                        break;
                    case "Gemm" when node.Inputs.Count == 3 && TryFloatMatrix(node.Inputs[1], out var b) &&
                                     TryFloatVector(node.Inputs[2], out var gemmBias):
                        bool transB = node.Attributes.TryGetValue("transB", out var t) && t.Int == 1;
                        var gemm = transB
                            ? new DenseWeights(b.ToFloats(), gemmBias, (int)b.Dims[0], (int)b.Dims[1])
                            : new DenseWeights(Transpose(b), gemmBias, (int)b.Dims[1], (int)b.Dims[0]);
                        steps.Add(new Step(i, gemm, null, node.Outputs[0]));
                        break;
                    case "LayerNormalization" when node.Inputs.Count == 3 &&
                                                   TryFloatVector(node.Inputs[1], out var gamma) && TryFloatVector(node.Inputs[2], out var beta):
                        Epsilon ??= node.Attributes.TryGetValue("epsilon", out var eps) && eps.Float is { } e
                            ? double.Parse(e.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)
                            : 1e-5;
                        steps.Add(new Step(i, null, new NormWeights(gamma, beta), node.Outputs[0]));
                        break;
                    case "Div" when node.Inputs.Count == 2 && Producer(node.Inputs[1]) is { OpType: "Sqrt" } sqrt:
                        if (DecomposedNorm(node, sqrt) is { } norm)
                        {
                            steps.Add(new Step(i, null, norm.Weights, norm.Output));
                        }

                        break;
                }
            }

            return steps;
        }

        // [Q, K, V] from three dense steps that read the same input.
        public DenseWeights[] OrderQueryKeyValue(Step a, Step b, Step c)
        {
            var result = new DenseWeights[3];
            foreach (var step in new[] { a, b, c })
            {
                if (step.Dense is null)
                {
                    throw Error("expected three dense projections (Q, K, V) at the start of a layer");
                }

                var (matMul, input) = FindAttentionMatMul(step.Output)
                    ?? throw Error($"the projection ending in '{step.Output}' does not reach an attention MatMul");
                bool afterSoftmax = ComesFrom(_model.Nodes[matMul].Inputs[0], "Softmax");
                int slot = afterSoftmax ? 2 : input;
                if (result[slot] is not null)
                {
                    throw Error("two projections of one layer play the same role (Q, K or V)");
                }

                result[slot] = step.Dense;
            }

            return result;
        }

        // Heads = hidden / d, with d read from the score scaling: scores / √d or scores · 1/√d.
        public int? InferHeads(int hidden)
        {
            foreach (var node in _model.Nodes)
            {
                if (node.OpType != "Softmax" || Producer(node.Inputs[0]) is not { } beforeSoftmax)
                {
                    continue;
                }

                // Walk back from Softmax over the mask Add to the scaling Div/Mul.
                for (var current = beforeSoftmax; current is not null; current = Producer(current.Inputs[0]))
                {
                    if (current.OpType is "Div" or "Mul" && TryScalar(current.Inputs[1], out float c) && c > 0)
                    {
                        double d = current.OpType == "Div" ? c * (double)c : 1.0 / (c * (double)c);
                        int headSize = (int)Math.Round(d);
                        return Math.Abs(d - headSize) < 1e-3 && headSize > 0 && hidden % headSize == 0 ? hidden / headSize : null;
                    }

                    if (current.OpType is not ("Add" or "Where" or "Cast"))
                    {
                        break;
                    }
                }
            }

            return null;
        }

        public string InferActivation()
        {
            var ops = _model.Nodes.Select(n => n.OpType).ToHashSet(StringComparer.Ordinal);
            if (ops.Contains("Erf"))
            {
                return "gelu";
            }

            var gelu = _model.Nodes.FirstOrDefault(n => n.OpType == "Gelu");
            if (gelu is not null)
            {
                return gelu.Attributes.TryGetValue("approximate", out var a) && a.String == "tanh" ? "gelu_new" : "gelu";
            }

            if (ops.Contains("Relu"))
            {
                return "relu";
            }

            if (ops.Contains("Sigmoid"))
            {
                return "silu";
            }

            throw Error("no recognisable feed-forward activation (Erf-based GELU, Gelu, Relu or Sigmoid)");
        }

        // Div(x − mean, Sqrt(var + eps)) → Mul γ → Add β.
        private (NormWeights Weights, string Output)? DecomposedNorm(OnnxNode div, OnnxNode sqrt)
        {
            if (SingleConsumer(div.Outputs[0]) is not { } mulIndex || _model.Nodes[mulIndex] is not { OpType: "Mul" } mul ||
                OtherInput(mul, div.Outputs[0]) is not { } gammaName || !TryFloatVector(gammaName, out var gamma) ||
                SingleConsumer(mul.Outputs[0]) is not { } addIndex || _model.Nodes[addIndex] is not { OpType: "Add" } add ||
                OtherInput(add, mul.Outputs[0]) is not { } betaName || !TryFloatVector(betaName, out var beta))
            {
                return null;
            }

            if (Epsilon is null && Producer(sqrt.Inputs[0]) is { OpType: "Add" } epsAdd &&
                TryScalar(epsAdd.Inputs[1], out float eps))
            {
                // ε is stored as float32; its shortest decimal form is what the model was configured with (1e-12, not 9.99…e-13).
                Epsilon = double.Parse(eps.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            }

            return (new NormWeights(gamma, beta), add.Outputs[0]);
        }

        // Follows the projection's output forward (Reshape, Transpose, Div, ...) to the first MatMul of two activations.
        private (int Node, int Input)? FindAttentionMatMul(string tensor)
        {
            var queue = new Queue<string>([tensor]);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (queue.Count > 0)
            {
                string current = queue.Dequeue();
                if (!seen.Add(current) || !_consumers.TryGetValue(current, out var consumers))
                {
                    continue;
                }

                foreach (var (node, input) in consumers)
                {
                    var n = _model.Nodes[node];
                    if (n.OpType == "MatMul" && !_model.Constants.ContainsKey(n.Inputs[1 - input]))
                    {
                        return (node, input);
                    }

                    if (n.OpType is "Reshape" or "Transpose" or "Div" or "Mul" or "Cast" or "Identity" && input == 0)
                    {
                        foreach (string output in n.Outputs)
                        {
                            queue.Enqueue(output);
                        }
                    }
                }
            }

            return null;
        }

        private bool ComesFrom(string tensor, string opType)
        {
            for (var node = Producer(tensor); node is not null; node = Producer(node.Inputs[0]))
            {
                if (node.OpType == opType)
                {
                    return true;
                }

                if (node.OpType is not ("Dropout" or "Cast" or "Identity"))
                {
                    return false;
                }
            }

            return false;
        }

        private string? TraceToGraphInput(string tensor)
        {
            for (int hops = 0; hops < 8; hops++)
            {
                if (_model.Inputs.Contains(tensor))
                {
                    return tensor;
                }

                if (Producer(tensor) is not { } node || node.Inputs.Count == 0)
                {
                    return null;
                }

                tensor = node.Inputs[0];
            }

            return null;
        }

        private OnnxNode? Producer(string tensor) =>
            _producer.TryGetValue(tensor, out int index) ? _model.Nodes[index] : null;

        private int? SingleConsumer(string tensor) =>
            _consumers.TryGetValue(tensor, out var list) && list.Count == 1 ? list[0].Node : null;

        private static string? OtherInput(OnnxNode node, string input) =>
            node.Inputs.Count == 2 ? (node.Inputs[0] == input ? node.Inputs[1] : node.Inputs[1] == input ? node.Inputs[0] : null) : null;

        private bool TryFloatMatrix(string name, out OnnxTensor tensor) =>
            _model.Constants.TryGetValue(name, out tensor!) && tensor.DataType == (int)OnnxDataType.Float && tensor.Dims.Count == 2;

        private bool TryFloatVector(string name, out float[] values)
        {
            if (_model.Constants.TryGetValue(name, out var tensor) && tensor.DataType == (int)OnnxDataType.Float && tensor.Dims.Count == 1)
            {
                values = tensor.ToFloats();
                return true;
            }

            values = [];
            return false;
        }

        private bool TryScalar(string name, out float value)
        {
            value = 0;
            if (!_model.Constants.TryGetValue(name, out var tensor) || tensor.ElementCount != 1 ||
                tensor.DataType is not ((int)OnnxDataType.Float or (int)OnnxDataType.Double))
            {
                return false;
            }

            value = tensor.ToFloats()[0];
            return true;
        }

        // (in, out) as ONNX MatMul stores it → (out, in) as BertEncoder's dense layers expect.
        private static float[] Transpose(OnnxTensor matrix)
        {
            int rows = (int)matrix.Dims[0];
            int cols = (int)matrix.Dims[1];
            var source = matrix.ToFloats();
            var result = new float[source.Length];
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < cols; c++)
                {
                    result[(c * rows) + r] = source[(r * cols) + c];
                }
            }

            return result;
        }
    }
}

namespace Persona.Neural.Bert;

/// <summary>
/// BERT parameters of given sizes drawn at random (Linear weights and embeddings ~ N(0, 0.02), LayerNorm γ = 1, biases
/// and β = 0, as BERT initialises them): for timing training steps at a real model's shape without its checkpoint.
/// </summary>
internal static class RandomBertWeights
{
    public static BertWeights Create(BertConfig config, ulong seed)
    {
        config.Validate();
        var rng = new Rng(seed);
        int h = config.HiddenSize;
        int inner = config.IntermediateSize;
        var layers = new LayerWeights[config.NumHiddenLayers];
        for (int l = 0; l < layers.Length; l++)
        {
            layers[l] = new LayerWeights(
                Dense(rng, 3 * h, h), Dense(rng, h, h), Norm(h), Dense(rng, inner, h), Dense(rng, h, inner), Norm(h));
        }

        return new BertWeights(
            Normal(rng, config.VocabSize * h),
            Normal(rng, config.MaxPositionEmbeddings * h),
            Normal(rng, config.TypeVocabSize * h),
            Norm(h),
            layers,
            Dense(rng, h, h));
    }

    private static DenseWeights Dense(Rng rng, int outFeatures, int inFeatures) =>
        new(Normal(rng, outFeatures * inFeatures), new float[outFeatures], outFeatures, inFeatures);

    private static NormWeights Norm(int size)
    {
        var gamma = new float[size];
        Array.Fill(gamma, 1f);
        return new NormWeights(gamma, new float[size]);
    }

    private static float[] Normal(Rng rng, int length)
    {
        var values = new float[length];
        rng.FillNormal(values, 0f, 0.02f);
        return values;
    }
}

using Microsoft.ML.RetinaNet.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Tests.Parity;

/// <summary>
/// The C# twin of <c>deterministic_values</c> / <c>deterministic_tensor</c> in test/fixtures/make_torchvision_fixtures.py:
/// every parameter is a function of its state_dict name and element index, so both sides hold identical weights.
/// </summary>
internal static class DeterministicWeights
{
    public static uint Fnv1a(string text)
    {
        uint h = 2166136261;
        foreach (char c in text)
        {
            h ^= c;
            h *= 16777619;
        }
        return h;
    }

    /// <summary>Uniform values in [−0.5, 0.5) from an integer hash of (name, index).</summary>
    public static double[] Values(long count, string name)
    {
        uint seed = Fnv1a(name);
        var result = new double[count];
        for (long i = 0; i < count; i++)
        {
            uint x = unchecked((uint)i * 2654435761u + seed);
            for (int round = 0; round < 2; round++)
            {
                x ^= x >> 16;
                x = unchecked(x * 0x45D9F3Bu);
            }
            x ^= x >> 16;
            result[i] = x / 4294967296.0 - 0.5;
        }
        return result;
    }

    public static float[] ForParameter(string name, long[] shape)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var u = Values(count, name);
        var v = new float[count];
        for (long i = 0; i < count; i++)
        {
            double value;
            if (name.EndsWith("running_mean", StringComparison.Ordinal)) value = 0.2 * u[i];
            else if (name.EndsWith("running_var", StringComparison.Ordinal)) value = 1.0 + u[i];
            else if (shape.Length == 4) value = u[i] * Math.Sqrt(12.0 / (shape[1] * shape[2] * shape[3]));
            else if (name.EndsWith("weight", StringComparison.Ordinal)) value = 1.0 + 0.5 * u[i];
            else value = 0.2 * u[i];
            v[i] = (float)value;
        }
        return v;
    }

    /// <summary>Overwrites every parameter and buffer but <c>num_batches_tracked</c> and the classification prior bias.</summary>
    public static void Apply(nn.Module module)
    {
        using var noGrad = no_grad();
        foreach (var (name, t) in module.state_dict())
        {
            if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal) || name.EndsWith("cls_logits.bias", StringComparison.Ordinal))
                continue;
            t.copy_(tensor(ForParameter(name, t.shape), t.shape));
        }
    }

    /// <summary>The fixture input: deterministic pixels in [0, 1) normalised with the ImageNet mean and std.</summary>
    public static Tensor Input(long n, long h, long w)
    {
        var raw = Values(n * 3 * h * w, "input").Select(v => (float)(v + 0.5)).ToArray();
        var x = tensor(raw, new[] { n, 3, h, w });
        var mean = tensor(new[] { 0.485f, 0.456f, 0.406f }).view(1, 3, 1, 1);
        var std = tensor(new[] { 0.229f, 0.224f, 0.225f }).view(1, 3, 1, 1);
        return (x - mean) / std;
    }
}

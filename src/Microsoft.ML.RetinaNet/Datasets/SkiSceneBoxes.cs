using Microsoft.ML.RetinaNet.AnchorTuning;

namespace Microsoft.ML.RetinaNet.Datasets;

/// <summary>
/// Box layouts of an outdoor ski scene, the hard case for anchors: persons (h/w ≈ 1.65, around 346×209), poles
/// (h/w ≈ 10, around 90×9), skis (h/w ≈ 0.06, around 20×310) and ski poles (h/w ≈ 1.53, around 164×107), each varied
/// ±30 % in size and ±10 % in aspect, placed uniformly on a square canvas. Deterministic for a seed.
/// </summary>
public static class SkiSceneBoxes
{
    /// <summary>Class names: person, pole, ski, ski_pole.</summary>
    public static IReadOnlyList<string> Classes { get; } = new[] { "person", "pole", "ski", "ski_pole" };

    private static readonly (double Height, double Width)[] Shapes = { (346, 209), (90, 9), (20, 310), (164, 107) };

    /// <summary><paramref name="count"/> boxes, classes in turn, on a <paramref name="canvas"/>² canvas (sizes scale with canvas / 640).</summary>
    public static BoxSet Sample(int count, int canvas = 640, int seed = 1)
    {
        if (count < 0 || canvas < 64)
            throw new ArgumentOutOfRangeException(nameof(count), "SkiSceneBoxes needs count >= 0 and a canvas of at least 64 pixels.");
        var random = new Random(seed);
        var boxes = new float[4 * count];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = i % Shapes.Length;
            SampleBox(random, labels[i], canvas, canvas, canvas / 640.0).CopyTo(boxes, 4 * i);
        }
        return new BoxSet(boxes, labels, Classes);
    }

    /// <summary>
    /// One box of class <paramref name="k"/> in a <paramref name="width"/> × <paramref name="height"/> image, its typical size
    /// multiplied by <paramref name="unit"/>, varied ±30 % in size and ±10 % in aspect, placed uniformly.
    /// </summary>
    internal static float[] SampleBox(Random random, int k, int width, int height, double unit)
    {
        double size = Math.Exp((random.NextDouble() - 0.5) * 0.6);
        double aspect = Math.Exp((random.NextDouble() - 0.5) * 0.2);
        double w = Math.Min(width - 1, Shapes[k].Width * unit * size / aspect), h = Math.Min(height - 1, Shapes[k].Height * unit * size * aspect);
        double x = random.NextDouble() * (width - w), y = random.NextDouble() * (height - h);
        return new[] { (float)x, (float)y, (float)(x + w), (float)(y + h) };
    }
}

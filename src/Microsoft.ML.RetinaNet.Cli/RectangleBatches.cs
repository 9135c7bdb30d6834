using Microsoft.ML.RetinaNet.Detection;
using Microsoft.ML.RetinaNet.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>Generated training batches: coloured rectangles (one colour per class) on a noisy background.</summary>
internal sealed class RectangleBatches
{
    private static readonly float[][] ClassColours = { new[] { 0.9f, 0.1f, 0.1f }, new[] { 0.1f, 0.8f, 0.1f }, new[] { 0.1f, 0.2f, 0.9f }, new[] { 0.9f, 0.9f, 0.1f } };
    private readonly Random _random;
    private readonly int _size;
    private readonly int _classes;

    public RectangleBatches(int imageSize, int classes, int seed)
    {
        _size = imageSize;
        _classes = Math.Min(classes, ClassColours.Length);
        _random = new Random(seed);
    }

    public DetectionBatch Next(int batchSize)
    {
        var images = new float[batchSize * 3 * _size * _size];
        var targets = new ImageTargets[batchSize];
        int plane = _size * _size;
        for (int n = 0; n < batchSize; n++)
        {
            int offset = n * 3 * plane;
            for (int i = 0; i < 3 * plane; i++)
                images[offset + i] = 0.4f + 0.2f * _random.NextSingle();
            int objects = _random.Next(0, 4); // 0 objects: a negative example
            var boxes = new List<float>();
            var labels = new List<long>();
            for (int o = 0; o < objects; o++)
            {
                int w = _random.Next(_size / 8, _size / 2), h = _random.Next(_size / 8, _size / 2);
                int x0 = _random.Next(0, _size - w), y0 = _random.Next(0, _size - h);
                int label = _random.Next(_classes);
                for (int c = 0; c < 3; c++)
                    for (int y = y0; y < y0 + h; y++)
                        Array.Fill(images, ClassColours[label][c], offset + c * plane + y * _size + x0, w);
                boxes.AddRange(new float[] { x0, y0, x0 + w, y0 + h });
                labels.Add(label);
            }
            targets[n] = new ImageTargets(tensor(boxes.ToArray(), new long[] { objects, 4 }), tensor(labels.ToArray()));
        }
        using var raw = tensor(images, new long[] { batchSize, 3, _size, _size });
        var sizes = Enumerable.Repeat(((long)_size, (long)_size), batchSize).ToArray();
        return new DetectionBatch(ImageNormalization.Apply(raw), targets, sizes);
    }
}

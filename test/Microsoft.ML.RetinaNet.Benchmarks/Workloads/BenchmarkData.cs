using Microsoft.ML.RetinaNet.Datasets;

namespace Microsoft.ML.RetinaNet.Benchmarks.Workloads;

/// <summary>
/// The inputs both sides use, generated from fixed seeds: ground-truth boxes per image, a box file for NMS (read by the
/// Python side too, so both suppress the very same boxes) and PNG images for inference.
/// </summary>
internal sealed class BenchmarkData : IDisposable
{
    public const int Classes = 5;
    public const int BoxesPerImage = 20;

    public BenchmarkData()
    {
        Folder = Directory.CreateTempSubdirectory("retinanet-bench-").FullName;
    }

    /// <summary>Scratch folder for images and box files, deleted on dispose.</summary>
    public string Folder { get; }

    /// <summary><see cref="BoxesPerImage"/> boxes (x0 y0 x1 y1, flattened) inside a <paramref name="size"/>² image, per image.</summary>
    public static float[][] GroundTruth(int images, int size, int seed = 7)
    {
        var random = new Random(seed);
        var result = new float[images][];
        for (int i = 0; i < images; i++)
        {
            var boxes = new float[4 * BoxesPerImage];
            for (int b = 0; b < BoxesPerImage; b++)
            {
                float w = (float)(size * (0.03 + 0.3 * random.NextDouble())), h = (float)(size * (0.03 + 0.3 * random.NextDouble()));
                float x = (float)(random.NextDouble() * (size - w)), y = (float)(random.NextDouble() * (size - h));
                (boxes[4 * b], boxes[4 * b + 1], boxes[4 * b + 2], boxes[4 * b + 3]) = (x, y, x + w, y + h);
            }
            result[i] = boxes;
        }
        return result;
    }

    /// <summary>
    /// <paramref name="count"/> candidate detections in a 512² image as rows of x0 y0 x1 y1 score label (float32),
    /// clustered around 200 objects the way a detector's candidates are, written to a file; returns its path.
    /// </summary>
    public string NmsBoxes(int count, int classes, int seed = 11)
    {
        var random = new Random(seed);
        var objects = Enumerable.Range(0, 200).Select(_ =>
        {
            float w = (float)(16 + 120 * random.NextDouble()), h = (float)(16 + 120 * random.NextDouble());
            return (X: (float)(random.NextDouble() * (512 - w)), Y: (float)(random.NextDouble() * (512 - h)), W: w, H: h, Label: random.Next(classes));
        }).ToArray();
        var rows = new float[count * 6];
        for (int i = 0; i < count; i++)
        {
            var o = objects[random.Next(objects.Length)];
            float jitter(float extent) => (float)((random.NextDouble() - 0.5) * 0.3 * extent);
            float x0 = o.X + jitter(o.W), y0 = o.Y + jitter(o.H);
            float x1 = x0 + o.W + jitter(o.W), y1 = y0 + o.H + jitter(o.H);
            int label = random.NextDouble() < 0.8 ? o.Label : random.Next(classes);
            rows[6 * i] = x0; rows[6 * i + 1] = y0; rows[6 * i + 2] = x1; rows[6 * i + 3] = y1;
            rows[6 * i + 4] = (float)random.NextDouble();
            rows[6 * i + 5] = label;
        }
        string path = Path.Combine(Folder, $"nms-{count}-{classes}.bin");
        File.WriteAllBytes(path, System.Runtime.InteropServices.MemoryMarshal.AsBytes(rows.AsSpan()).ToArray());
        return path;
    }

    /// <summary>Reads back a file written by <see cref="NmsBoxes"/>.</summary>
    public static float[] ReadNmsBoxes(string path) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();

    /// <summary><paramref name="count"/> PNG images of <paramref name="size"/>² with shapes on them; returns their full paths.</summary>
    public IReadOnlyList<string> Images(int count, int size)
    {
        string folder = Path.Combine(Folder, $"images-{size}");
        var rows = SyntheticShapes.Write(folder, count, size, size, seed: size);
        return rows.Select(r => Path.Combine(folder, r.ImagePath)).ToList();
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}

using SkiaSharp;

namespace Microsoft.ML.RetinaNet.Datasets;

/// <summary>
/// A tiny generated dataset for smoke tests and examples: PNGs of red squares, blue discs and flat green bars on a
/// light background with grey clutter lines, 1 to <c>maxObjects</c> objects per image, deterministic for a seed.
/// </summary>
public static class SyntheticShapes
{
    /// <summary>The class names: square, disc, bar (h/w = 1/3).</summary>
    public static IReadOnlyList<string> Classes { get; } = new[] { "square", "disc", "bar" };

    /// <summary>Writes <paramref name="count"/> images into <paramref name="directory"/> and returns their annotations.</summary>
    public static List<DetectionRecord> Write(string directory, int count, int width, int height, int seed, int maxObjects = 3)
    {
        if (count < 0 || width < 16 || height < 16 || maxObjects < 1)
            throw new ArgumentOutOfRangeException(nameof(count), "SyntheticShapes needs count >= 0, width and height >= 16 and maxObjects >= 1.");
        Directory.CreateDirectory(directory);
        var random = new Random(seed);
        var rows = new List<DetectionRecord>();
        for (int n = 0; n < count; n++)
        {
            using var bitmap = new SKBitmap(width, height);
            using var canvas = new SKCanvas(bitmap);
            canvas.Clear(new SKColor((byte)random.Next(200, 240), (byte)random.Next(200, 240), (byte)random.Next(200, 240)));
            using var clutter = new SKPaint { Color = new SKColor(150, 150, 150), StrokeWidth = 1, IsAntialias = true };
            for (int i = 0; i < 6; i++)
                canvas.DrawLine(random.Next(width), random.Next(height), random.Next(width), random.Next(height), clutter);
            var labels = new List<string>();
            var boxes = new List<float>();
            int objects = random.Next(1, maxObjects + 1);
            for (int o = 0; o < objects; o++)
            {
                int cls = random.Next(Classes.Count);
                int size = random.Next(Math.Min(width, height) / 5, Math.Min(width, height) / 2);
                int w = size, h = cls == 2 ? Math.Max(6, size / 3) : size;
                int x = random.Next(0, width - w), y = random.Next(0, height - h);
                using var paint = new SKPaint { IsAntialias = true, Color = cls switch { 0 => new SKColor(220, 30, 30), 1 => new SKColor(30, 60,
                    220), _ => new SKColor(30, 160, 40) } };
                if (cls == 1) canvas.DrawOval(new SKRect(x, y, x + w, y + h), paint);
                else canvas.DrawRect(new SKRect(x, y, x + w, y + h), paint);
                labels.Add(Classes[cls]);
                boxes.AddRange(new float[] { x, y, x + w, y + h });
            }
            string name = $"shapes-{seed}-{n:D4}.png";
            using (var image = SKImage.FromBitmap(bitmap))
            using (var png = image.Encode(SKEncodedImageFormat.Png, 100))
            using (var file = File.Create(Path.Combine(directory, name)))
                png.SaveTo(file);
            rows.Add(new DetectionRecord { ImagePath = name, Label = labels.ToArray(), BoundingBoxes = boxes.ToArray() });
        }
        return rows;
    }
}

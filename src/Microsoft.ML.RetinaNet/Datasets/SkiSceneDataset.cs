using Microsoft.ML.RetinaNet.Datasets.Formats;
using SkiaSharp;

namespace Microsoft.ML.RetinaNet.Datasets;

/// <summary>
/// The built-in scene dataset: deterministic (seeded) outdoor ski scenes rendered with SkiaSharp — sky, snow, trees and
/// rocks as clutter — with skiers (h/w ≈ 1.65), slalom poles (h/w ≈ 10), skis (h/w ≈ 0.06) and ski poles (h/w ≈ 1.53),
/// 1–6 objects per image at varied sizes, overlapping one another, and some images without objects. Boxes are the full
/// extent of each drawn object (also where another object covers it). Written as PNGs plus COCO JSON per split, so the
/// main job and the tests need no download; hard in exactly the way anchor tuning is for.
/// </summary>
public static class SkiSceneDataset
{
    /// <summary>
    /// Writes train, validation and test splits under <paramref name="folder"/> (folder/split/*.png, folder/split.json).
    /// <paramref name="objectScale"/> sets the objects' size relative to the image: at 1 a typical skier is 346 × 209 pixels
    /// of a 640-pixel scene (0.54 of its height), a slalom pole 90 × 9 and a ski 20 × 310; the default 0.8 draws them at
    /// 80 % of that.
    /// </summary>
    public static IReadOnlyList<DatasetSplit> Generate(string folder, int trainImages, int validationImages, int testImages, int imageSize = 384,
        int seed = 1, double objectScale = 0.8)
    {
        if (!(objectScale > 0.05 && objectScale <= 1.5))
            throw new ArgumentOutOfRangeException(nameof(objectScale), objectScale,
                "The object scale must be above 0.05 and at most 1.5 (1 = a skier 54 % of the image height).");
        if (trainImages < 1 || validationImages < 0 || testImages < 0)
            throw new ArgumentOutOfRangeException(nameof(trainImages), "The scene dataset needs at least one training image and no negative counts.");
        if (imageSize < 64)
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "Scene images must be at least 64 pixels.");
        var splits = new List<DatasetSplit>();
        foreach (var (name, count, offset) in new[] { ("train", trainImages, 0), ("validation", validationImages, 1_000_000), ("test", testImages,
            2_000_000) })
        {
            string images = Path.Combine(folder, name);
            Directory.CreateDirectory(images);
            var records = new List<DetectionRecord>();
            for (int i = 0; i < count; i++)
                records.Add(Render(images, $"{name}-{i:D5}.png", imageSize, seed * 7919 + offset + i, objectScale));
            string json = Path.Combine(folder, name + ".json");
            CocoFormat.Write(json, records, SkiSceneBoxes.Classes, images);
            splits.Add(new DatasetSplit(name, images, json, records));
        }
        return splits;
    }

    private static DetectionRecord Render(string folder, string fileName, int size, int seed, double objectScale)
    {
        var random = new Random(seed);
        using var bitmap = new SKBitmap(size, size);
        using var canvas = new SKCanvas(bitmap);
        DrawBackground(canvas, random, size);

        int objects = random.NextDouble() < 0.08 ? 0 : random.Next(1, 7);
        var labels = new List<string>();
        var boxes = new List<float>();
        double unit = size / 640.0 * objectScale;
        for (int o = 0; o < objects; o++)
        {
            int k = random.Next(SkiSceneBoxes.Classes.Count);
            var box = SkiSceneBoxes.SampleBox(random, k, size, size, unit);
            var rect = new SKRect(box[0], box[1], box[2], box[3]);
            switch (k)
            {
                case 0: DrawSkier(canvas, random, rect); break;
                case 1: DrawSlalomPole(canvas, random, rect); break;
                case 2: DrawSki(canvas, random, rect); break;
                default: DrawSkiPole(canvas, random, rect); break;
            }
            labels.Add(SkiSceneBoxes.Classes[k]);
            boxes.AddRange(box);
        }
        using (var image = SKImage.FromBitmap(bitmap))
        using (var png = image.Encode(SKEncodedImageFormat.Png, 100))
        using (var file = File.Create(Path.Combine(folder, fileName)))
            png.SaveTo(file);
        return new DetectionRecord { ImagePath = fileName, Label = labels.ToArray(), BoundingBoxes = boxes.ToArray() };
    }

    private static SKColor Random(Random r, int lo, int hi) => new((byte)r.Next(lo, hi), (byte)r.Next(lo, hi), (byte)r.Next(lo, hi));

    private static void DrawBackground(SKCanvas canvas, Random r, int size)
    {
        float horizon = size * (0.2f + 0.3f * r.NextSingle());
        using (var sky = new SKPaint { Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, horizon),
                   new[] { new SKColor(90, 150, 220), new SKColor(200, 225, 245) }, SKShaderTileMode.Clamp) })
            canvas.DrawRect(0, 0, size, horizon, sky);
        using (var snow = new SKPaint { Shader = SKShader.CreateLinearGradient(new SKPoint(0, horizon), new SKPoint(0, size),
                   new[] { new SKColor(235, 240, 248), new SKColor(250, 250, 252) }, SKShaderTileMode.Clamp) })
            canvas.DrawRect(0, horizon, size, size - horizon, snow);
        using var tree = new SKPaint { IsAntialias = true };
        for (int t = r.Next(2, 9); t > 0; t--)
        {
            float x = r.NextSingle() * size, h = size * (0.05f + 0.15f * r.NextSingle()), y = horizon + r.NextSingle() * size * 0.2f;
            tree.Color = new SKColor((byte)r.Next(10, 40), (byte)r.Next(60, 110), (byte)r.Next(20, 50));
            using var path = new SKPath();
            path.MoveTo(x, y - h); path.LineTo(x - h * 0.35f, y); path.LineTo(x + h * 0.35f, y); path.Close();
            canvas.DrawPath(path, tree);
        }
        using var rock = new SKPaint { IsAntialias = true };
        for (int k = r.Next(0, 5); k > 0; k--)
        {
            rock.Color = Random(r, 90, 140);
            canvas.DrawOval(r.NextSingle() * size, horizon + r.NextSingle() * (size - horizon), 3 + r.NextSingle() * size * 0.04f, 2
                + r.NextSingle() * size * 0.02f, rock);
        }
    }

    private static void DrawSkier(SKCanvas c, Random r, SKRect b)
    {
        using var jacket = new SKPaint { Color = Random(r, 30, 230), IsAntialias = true };
        using var trousers = new SKPaint { Color = Random(r, 10, 90), IsAntialias = true };
        using var skin = new SKPaint { Color = new SKColor(225, 185, 150), IsAntialias = true };
        float w = b.Width, h = b.Height;
        c.DrawOval(b.MidX, b.Top + h * 0.08f, w * 0.16f, h * 0.08f, skin);                                   // head
        c.DrawRoundRect(new SKRect(b.Left + w * 0.18f, b.Top + h * 0.16f, b.Right - w * 0.18f, b.Top + h * 0.55f), w * 0.1f, w * 0.1f, jacket);
        c.DrawRect(new SKRect(b.Left, b.Top + h * 0.2f, b.Left + w * 0.2f, b.Top + h * 0.45f), jacket);        // arms
        c.DrawRect(new SKRect(b.Right - w * 0.2f, b.Top + h * 0.2f, b.Right, b.Top + h * 0.45f), jacket);
        c.DrawRect(new SKRect(b.Left + w * 0.22f, b.Top + h * 0.55f, b.MidX - w * 0.04f, b.Bottom), trousers);  // legs
        c.DrawRect(new SKRect(b.MidX + w * 0.04f, b.Top + h * 0.55f, b.Right - w * 0.22f, b.Bottom), trousers);
    }

    private static void DrawSlalomPole(SKCanvas c, Random r, SKRect b)
    {
        using var paint = new SKPaint { Color = r.Next(2) == 0 ? new SKColor(210, 30, 30) : new SKColor(30, 60, 200), IsAntialias = true };
        c.DrawRect(b, paint);
        using var stripe = new SKPaint { Color = SKColors.White };
        for (float y = b.Top + b.Height * 0.1f; y < b.Bottom; y += b.Height * 0.25f)
            c.DrawRect(new SKRect(b.Left, y, b.Right, Math.Min(b.Bottom, y + b.Height * 0.05f)), stripe);
    }

    private static void DrawSki(SKCanvas c, Random r, SKRect b)
    {
        using var paint = new SKPaint { Color = Random(r, 20, 255), IsAntialias = true };
        c.DrawRoundRect(b, b.Height * 0.5f, b.Height * 0.5f, paint);
    }

    private static void DrawSkiPole(SKCanvas c, Random r, SKRect b)
    {
        using var paint = new SKPaint { Color = Random(r, 30, 90), StrokeWidth = Math.Max(2, b.Width * 0.05f), IsAntialias = true,
            StrokeCap = SKStrokeCap.Round };
        bool rising = r.Next(2) == 0;
        var bottom = new SKPoint(rising ? b.Left : b.Right, b.Bottom);
        var top = new SKPoint(rising ? b.Right : b.Left, b.Top);
        c.DrawLine(bottom, top, paint);
        using var basket = new SKPaint { Color = paint.Color, IsStroke = true, StrokeWidth = 2, IsAntialias = true };
        var p = new SKPoint(bottom.X + (top.X - bottom.X) * 0.12f, bottom.Y + (top.Y - bottom.Y) * 0.12f);
        c.DrawCircle(p, Math.Max(2, b.Width * 0.08f), basket);
    }
}

using System.CommandLine;
using Microsoft.ML;
using Microsoft.ML.Data;
using SkiaSharp;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>Draws a saved model's detections (box, label, score) on every image of a folder into PNGs.</summary>
internal static class PredictCommand
{
    private sealed class ImageRow
    {
        public string ImagePath { get; set; } = "";
    }

    public static System.CommandLine.Command Create()
    {
        var model = new Option<string>("--model") { Description = "model .zip saved by train", Required = true };
        var images = new Option<string>("--images") { Description = "folder of images", Required = true };
        var output = new Option<string>("--output") { Description = "folder for the annotated PNGs", DefaultValueFactory = _ => Path.Combine("runs", "predictions") };
        var minScore = new Option<float>("--min-score") { Description = "draw detections at or above this score", DefaultValueFactory = _ => 0.3f };
        var command = new System.CommandLine.Command("predict", "Draw a saved model's detections on images.") { model, images, output, minScore };
        command.SetAction(parse => Program.Guard(() =>
        {
            int written = Draw(parse.GetValue(model)!, parse.GetValue(images)!, parse.GetValue(output)!, parse.GetValue(minScore));
            Console.WriteLine($"wrote {written} images to {parse.GetValue(output)}");
        }));
        return command;
    }

    /// <summary>Writes one PNG per image with the detections scoring at least <paramref name="minScore"/>; returns how many.</summary>
    public static int Draw(string modelPath, string folder, string output, float minScore)
    {
        var ml = new MLContext(seed: 0);
        var loaded = ml.Model.LoadRetinaNet(modelPath, out _);
        var files = Directory.EnumerateFiles(folder).Where(f => new[] { ".png", ".jpg", ".jpeg", ".bmp" }.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .OrderBy(f => f, StringComparer.Ordinal).ToList();
        var data = ml.Transforms.LoadImages("Image", folder, nameof(ImageRow.ImagePath))
            .Fit(ml.Data.LoadFromEnumerable(new[] { new ImageRow() }))
            .Transform(ml.Data.LoadFromEnumerable(files.Select(f => new ImageRow { ImagePath = Path.GetFileName(f) })));
        var scored = loaded.Transform(data);
        var names = EvaluateCommand.ClassNames(scored.Schema);
        Directory.CreateDirectory(output);
        using var cursor = scored.GetRowCursor(new[] { scored.Schema[DefaultColumnNames.PredictedLabel], scored.Schema[DefaultColumnNames.Score], scored.Schema[DefaultColumnNames.PredictedBoundingBoxes] });
        var getLabels = cursor.GetGetter<VBuffer<uint>>(scored.Schema[DefaultColumnNames.PredictedLabel]);
        var getScores = cursor.GetGetter<VBuffer<float>>(scored.Schema[DefaultColumnNames.Score]);
        var getBoxes = cursor.GetGetter<VBuffer<float>>(scored.Schema[DefaultColumnNames.PredictedBoundingBoxes]);
        VBuffer<uint> keys = default;
        VBuffer<float> scores = default, boxes = default;
        int row = 0;
        using var frame = new SKPaint { IsStroke = true, StrokeWidth = 2, Color = new SKColor(230, 20, 20), IsAntialias = true };
        using var text = new SKPaint { Color = SKColors.White, TextSize = 12, IsAntialias = true };
        using var label = new SKPaint { Color = new SKColor(230, 20, 20) };
        while (cursor.MoveNext())
        {
            getLabels(ref keys); getScores(ref scores); getBoxes(ref boxes);
            var k = keys.DenseValues().ToArray();
            var s = scores.DenseValues().ToArray();
            var b = boxes.DenseValues().ToArray();
            using var bitmap = SKBitmap.Decode(files[row]);
            using (var canvas = new SKCanvas(bitmap))
            {
                for (int i = 0; i < s.Length; i++)
                {
                    if (s[i] < minScore) continue;
                    canvas.DrawRect(new SKRect(b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]), frame);
                    string caption = $"{names[k[i] - 1]} {s[i]:0.00}";
                    canvas.DrawRect(new SKRect(b[4 * i], b[4 * i + 1] - 14, b[4 * i] + text.MeasureText(caption) + 4, b[4 * i + 1]), label);
                    canvas.DrawText(caption, b[4 * i] + 2, b[4 * i + 1] - 3, text);
                }
            }
            using var image = SKImage.FromBitmap(bitmap);
            using var png = image.Encode(SKEncodedImageFormat.Png, 100);
            using var file = File.Create(Path.Combine(output, Path.GetFileNameWithoutExtension(files[row]) + ".png"));
            png.SaveTo(file);
            row++;
        }
        return row;
    }
}

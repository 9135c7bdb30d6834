using System.CommandLine;
using SkiaSharp;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>Draws a saved model's detections (box, label, score) on every image of a folder into PNGs.</summary>
internal static class PredictCommand
{
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
        Directory.CreateDirectory(output);
        using var frame = new SKPaint { IsStroke = true, StrokeWidth = 2, Color = new SKColor(230, 20, 20), IsAntialias = true };
        using var text = new SKPaint { Color = SKColors.White, TextSize = 12, IsAntialias = true };
        using var label = new SKPaint { Color = new SKColor(230, 20, 20) };
        var results = FolderScoring.Score(modelPath, folder);
        foreach (var r in results)
        {
            using var bitmap = SKBitmap.Decode(r.File);
            using (var canvas = new SKCanvas(bitmap))
            {
                for (int i = 0; i < r.Scores.Length; i++)
                {
                    if (r.Scores[i] < minScore) continue;
                    var b = r.Boxes.AsSpan(4 * i, 4);
                    canvas.DrawRect(new SKRect(b[0], b[1], b[2], b[3]), frame);
                    string caption = $"{r.Labels[i]} {r.Scores[i]:0.00}";
                    canvas.DrawRect(new SKRect(b[0], b[1] - 14, b[0] + text.MeasureText(caption) + 4, b[1]), label);
                    canvas.DrawText(caption, b[0] + 2, b[1] - 3, text);
                }
            }
            using var image = SKImage.FromBitmap(bitmap);
            using var png = image.Encode(SKEncodedImageFormat.Png, 100);
            using var file = File.Create(Path.Combine(output, Path.GetFileNameWithoutExtension(r.File) + ".png"));
            png.SaveTo(file);
        }
        return results.Count;
    }
}

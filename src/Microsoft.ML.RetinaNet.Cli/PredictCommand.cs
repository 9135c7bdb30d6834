using System.CommandLine;
using Microsoft.ML.RetinaNet.Datasets.Formats;
using SkiaSharp;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>
/// Draws a saved model's detections on every image of a folder into PNGs: one colour per class, and the ground truth as
/// dashed boxes when annotations are given.
/// </summary>
internal static class PredictCommand
{
    public static System.CommandLine.Command Create()
    {
        var model = new Option<string>("--model") { Description = "model .zip saved by train", Required = true };
        var images = new Option<string>("--images") { Description = "folder of images", Required = true };
        var output = new Option<string>("--output") { Description = "folder for the annotated PNGs", DefaultValueFactory = _ => Path.Combine("runs",
            "predictions") };
        var minScore = new Option<float>("--min-score") { Description = "draw detections at or above this score", DefaultValueFactory = _ => 0.3f };
        var annotations = new Option<string?>("--annotations") { Description = "optional: annotations of these images (COCO .json, VOC folder, .csv "
            + "or YOLO labels), drawn as dashed ground-truth boxes" };
        var format = new Option<AnnotationFormat>("--format") { Description = "format of --annotations: Coco, Voc, Csv or Yolo",
            DefaultValueFactory = _ => AnnotationFormat.Coco };
        var command = new System.CommandLine.Command("predict",
            "Draw a saved model's detections (one colour per class; ground truth dashed when --annotations is given) on images.")
            { model, images, output, minScore, annotations, format };
        command.SetAction(parse => Program.Guard(() =>
        {
            string folder = parse.GetValue(images)!;
            var truth = parse.GetValue(annotations) is { } path ? GroundTruth(parse.GetValue(format), path, folder) : null;
            var unreadable = new UnreadableImages();
            int written = Draw(parse.GetValue(model)!, folder, parse.GetValue(output)!, parse.GetValue(minScore), unreadable, out int total, truth);
            Console.WriteLine($"wrote {written} images to {parse.GetValue(output)}");
            return unreadable.Finish(total);
        }));
        return command;
    }

    /// <summary>Ground-truth boxes by image file name.</summary>
    public static Dictionary<string, List<(string Label, float[] Box)>> GroundTruth(AnnotationFormat format, string annotations, string folder)
    {
        var (records, _) = DatasetFiles.Read(format, annotations, folder);
        return GroundTruth(records);
    }

    /// <summary>Ground-truth boxes of <paramref name="records"/> by image file name.</summary>
    public static Dictionary<string, List<(string Label, float[] Box)>> GroundTruth(IEnumerable<Datasets.DetectionRecord> records) =>
        records.ToDictionary(r => Path.GetFileName(r.ImagePath),
            r => r.Label.Select((label, i) => (label, r.BoundingBoxes.AsSpan(4 * i, 4).ToArray())).ToList(), StringComparer.Ordinal);

    /// <summary>Writes one PNG per readable image with the detections scoring at least <paramref name="minScore"/>; returns how many.</summary>
    public static int Draw(string modelPath, string folder, string output, float minScore, UnreadableImages unreadable, out int total,
                           IReadOnlyDictionary<string, List<(string Label, float[] Box)>>? truth = null)
    {
        Directory.CreateDirectory(output);
        DetectionPicture? picture = null;
        try
        {
            // drawn on the pixels the scoring decoded, as each image's detections come
            var results = FolderScoring.Score(modelPath, folder, unreadable, out total, out _, (classes, r, bitmap) =>
            {
                picture ??= new DetectionPicture(classes);
                var known = truth is null ? null : truth.TryGetValue(Path.GetFileName(r.File), out var boxes) ? boxes : new List<(string, float[])>();
                picture.Draw(bitmap, r, minScore, known);
                using var image = SKImage.FromBitmap(bitmap);
                using var png = image.Encode(SKEncodedImageFormat.Png, 100);
                using var file = File.Create(Path.Combine(output, Path.GetFileNameWithoutExtension(r.File) + ".png"));
                png.SaveTo(file);
            });
            return results.Count;
        }
        finally
        {
            picture?.Dispose();
        }
    }
}

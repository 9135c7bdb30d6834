using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.RetinaNet.Datasets.Formats;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>
/// Writes a saved model's detections for every image of a folder as JSON: file, label names, scores, boxes; or, with
/// --coco-results, as a COCO results file (image_id, category_id, bbox x,y,w,h, score) for any COCO tool.
/// </summary>
internal static class ScoreCommand
{
    public static System.CommandLine.Command Create()
    {
        var model = new Option<string>("--model") { Description = "model .zip saved with mlContext.Model.Save (train writes one)", Required = true };
        var images = new Option<string>("--images") { Description = "folder of images (.png, .jpg, .jpeg, .bmp)", Required = true };
        var output = new Option<string>("--output") { Description = "JSON file to write", DefaultValueFactory = _ => "detections.json" };
        var cocoResults = new Option<bool>("--coco-results") { Description = "write a COCO results file (image_id, category_id, bbox as x, y, w, h, "
            + "score) instead" };
        var annotations = new Option<string?>("--annotations") { Description = "with --coco-results: the COCO annotations whose image ids (by file "
            + "name) and category ids (by name) to use; without it images are numbered from 1 in file-name order and categories from 1 in the "
                + "model's class order" };
        var command = new System.CommandLine.Command("score",
            "Score a folder of images with a saved model and write the detections as JSON (or as COCO results with --coco-results).")
            { model, images, output, cocoResults, annotations };
        command.SetAction(parse => Program.Guard(() =>
        {
            var unreadable = new UnreadableImages();
            var results = FolderScoring.Score(parse.GetValue(model)!, parse.GetValue(images)!, unreadable, out int total, out string[] classes)
                .Select(r => r with { File = Path.GetFileName(r.File) }).ToList();
            string path = parse.GetValue(output)!;
            if (parse.GetValue(cocoResults))
            {
                var (imageIds, categoryIds) = Ids(parse.GetValue(annotations), results.Select(r => r.File).ToList(), classes);
                var array = new JsonArray();
                foreach (var r in results)
                    for (int i = 0; i < r.Scores.Length; i++)
                    {
                        var b = r.Boxes.AsSpan(4 * i, 4);
                        array.Add(new JsonObject
                        {
                            ["image_id"] = imageIds[r.File], ["category_id"] = categoryIds[r.Labels[i]],
                            ["bbox"] = new JsonArray((double)b[0], (double)b[1], (double)b[2] - b[0], (double)b[3] - b[1]),
                                ["score"] = (double)r.Scores[i],
                        });
                    }
                File.WriteAllText(path, array.ToJsonString());
            }
            else
            {
                File.WriteAllText(path, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true,
                    PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
            }
            Console.WriteLine($"{results.Count} images scored, {results.Sum(r => r.Scores.Length)} detections written to {path}");
            return unreadable.Finish(total);
        }));
        return command;
    }

    /// <summary>COCO image ids by file name and category ids by class name: from the annotations, or numbered from 1.</summary>
    private static (IReadOnlyDictionary<string, long> Images, IReadOnlyDictionary<string, long> Categories) Ids(string? annotations,
        List<string> files,
        string[] classes)
    {
        if (annotations is null)
            return (files.Order(StringComparer.Ordinal).Select((f, i) => (f, i)).ToDictionary(p => p.f, p => (long)p.i + 1),
                    classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (long)p.i + 1));
        var (images, categories) = CocoFormat.ReadIds(annotations);
        var missingImages = files.Where(f => !images.ContainsKey(f)).ToList();
        if (missingImages.Count > 0)
            throw new InvalidDataException($"{annotations} has no image "
                + $"named {string.Join(", ", missingImages.Take(5))}{(missingImages.Count > 5 ? ", …" : "")}");
        var missingClasses = classes.Where(c => !categories.ContainsKey(c)).ToList();
        if (missingClasses.Count > 0)
            throw new InvalidDataException($"{annotations} has no category named {string.Join(", ", missingClasses)} (the model's "
                + $"classes: {string.Join(", ", classes)})");
        return (images, categories);
    }
}

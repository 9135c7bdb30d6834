using System.CommandLine;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>
/// Loads a saved ML.NET model whose input is an image path column (for example LoadImages → RetinaNet) and writes the
/// detections of every image in a folder as JSON: file, label names, scores and boxes in the image's pixels.
/// </summary>
internal static class ScoreCommand
{
    private sealed class ImageRow
    {
        public string ImagePath { get; set; } = "";
    }

    /// <summary>One image's detections in the JSON output.</summary>
    private sealed record ImageDetections(string File, string[] Labels, float[] Scores, float[] Boxes);

    public static System.CommandLine.Command Create()
    {
        var model = new Option<string>("--model") { Description = "model .zip saved with mlContext.Model.Save", Required = true };
        var images = new Option<string>("--images") { Description = "folder of images (.png, .jpg, .jpeg, .bmp)", Required = true };
        var output = new Option<string>("--output") { Description = "JSON file to write", DefaultValueFactory = _ => "detections.json" };
        var pathColumn = new Option<string>("--path-column") { Description = "name of the model's image path input column", DefaultValueFactory = _ => "ImagePath" };
        var command = new System.CommandLine.Command("score", "Score a folder of images with a saved model and write the detections as JSON.") { model, images, output, pathColumn };
        command.SetAction(parse => Run(parse.GetValue(model)!, parse.GetValue(images)!, parse.GetValue(output)!, parse.GetValue(pathColumn)!));
        return command;
    }

    private static int Run(string modelPath, string folder, string output, string pathColumn)
    {
        var ml = new MLContext(seed: 0);
        var model = ml.Model.LoadRetinaNet(modelPath, out _);
        var files = Directory.EnumerateFiles(folder).Where(f => new[] { ".png", ".jpg", ".jpeg", ".bmp" }.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .OrderBy(f => f, StringComparer.Ordinal).ToList();
        var definition = SchemaDefinition.Create(typeof(ImageRow));
        definition[nameof(ImageRow.ImagePath)].ColumnName = pathColumn;
        var data = ml.Data.LoadFromEnumerable(files.Select(f => new ImageRow { ImagePath = Path.GetFullPath(f) }), definition);
        var scored = model.Transform(data);
        var labels = scored.Schema[DefaultColumnNames.PredictedLabel];
        VBuffer<ReadOnlyMemory<char>> names = default;
        labels.GetKeyValues(ref names);
        var classNames = names.DenseValues().Select(n => n.ToString()).ToArray();
        var results = new List<ImageDetections>();
        using (var cursor = scored.GetRowCursor(new[] { labels, scored.Schema[DefaultColumnNames.Score], scored.Schema[DefaultColumnNames.PredictedBoundingBoxes] }))
        {
            var getLabels = cursor.GetGetter<VBuffer<uint>>(labels);
            var getScores = cursor.GetGetter<VBuffer<float>>(scored.Schema[DefaultColumnNames.Score]);
            var getBoxes = cursor.GetGetter<VBuffer<float>>(scored.Schema[DefaultColumnNames.PredictedBoundingBoxes]);
            VBuffer<uint> keys = default;
            VBuffer<float> scores = default, boxes = default;
            int row = 0;
            while (cursor.MoveNext())
            {
                getLabels(ref keys); getScores(ref scores); getBoxes(ref boxes);
                results.Add(new ImageDetections(Path.GetFileName(files[row++]), keys.DenseValues().Select(k => classNames[k - 1]).ToArray(),
                    scores.DenseValues().ToArray(), boxes.DenseValues().ToArray()));
            }
        }
        File.WriteAllText(output, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
        Console.WriteLine($"{results.Count} images scored, {results.Sum(r => r.Scores.Length)} detections written to {output}");
        return 0;
    }
}

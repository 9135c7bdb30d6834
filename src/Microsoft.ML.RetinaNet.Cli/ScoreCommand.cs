using System.CommandLine;
using System.Text.Json;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>Writes a saved model's detections for every image of a folder as JSON: file, label names, scores, boxes.</summary>
internal static class ScoreCommand
{
    public static System.CommandLine.Command Create()
    {
        var model = new Option<string>("--model") { Description = "model .zip saved with mlContext.Model.Save (train writes one)", Required = true };
        var images = new Option<string>("--images") { Description = "folder of images (.png, .jpg, .jpeg, .bmp)", Required = true };
        var output = new Option<string>("--output") { Description = "JSON file to write", DefaultValueFactory = _ => "detections.json" };
        var command = new System.CommandLine.Command("score", "Score a folder of images with a saved model and write the detections as JSON.") { model, images, output };
        command.SetAction(parse => Program.Guard(() =>
        {
            var unreadable = new UnreadableImages();
            var results = FolderScoring.Score(parse.GetValue(model)!, parse.GetValue(images)!, unreadable, out int total)
                .Select(r => r with { File = Path.GetFileName(r.File) }).ToList();
            string path = parse.GetValue(output)!;
            File.WriteAllText(path, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
            Console.WriteLine($"{results.Count} images scored, {results.Sum(r => r.Scores.Length)} detections written to {path}");
            return unreadable.Finish(total);
        }));
        return command;
    }
}

using System.CommandLine;
using Microsoft.ML.RetinaNet.Datasets;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>Writes the built-in ski-scene dataset: PNGs and COCO JSON for train, validation and test.</summary>
internal static class GenerateCommand
{
    public static System.CommandLine.Command Create()
    {
        var output = new Option<string>("--output") { Description = "folder to write", DefaultValueFactory = _ => Path.Combine("runs", "scenes") };
        var train = new Option<int>("--train") { Description = "training images", DefaultValueFactory = _ => 400 };
        var validation = new Option<int>("--validation") { Description = "validation images", DefaultValueFactory = _ => 50 };
        var test = new Option<int>("--test") { Description = "test images", DefaultValueFactory = _ => 100 };
        var size = new Option<int>("--image-size") { Description = "square image size in pixels", DefaultValueFactory = _ => 384 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var command = new System.CommandLine.Command("generate",
            "Write the built-in ski-scene dataset (PNG images + COCO JSON per split).") { output, train, validation, test, size, seed };
        command.SetAction(parse =>
        {
            var splits = SkiSceneDataset.Generate(parse.GetValue(output)!, parse.GetValue(train), parse.GetValue(validation), parse.GetValue(test),
                parse.GetValue(size), parse.GetValue(seed));
            foreach (var s in splits)
                Console.WriteLine($"{s.Name}: {s.Records.Count} images, {s.Records.Sum(r => r.Label.Length)} objects -> {s.CocoFile}");
            return 0;
        });
        return command;
    }
}

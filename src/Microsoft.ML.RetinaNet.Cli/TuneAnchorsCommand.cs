using System.CommandLine;
using Microsoft.ML;
using Microsoft.ML.RetinaNet.AnchorTuning;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>Prints the anchor tables and coverage for a dataset and writes the report and the picture.</summary>
internal static class TuneAnchorsCommand
{
    public static System.CommandLine.Command Create()
    {
        var data = new DatasetArguments("", required: true);
        var imageSize = new Option<int>("--image-size") { Description = "the training image size (coverage is measured there)", DefaultValueFactory = _ => 512 };
        var output = new Option<string>("--output") { Description = "folder for anchors.md and anchors.png", DefaultValueFactory = _ => Path.Combine("runs", "anchors") };
        var command = new System.CommandLine.Command("tune-anchors", "Anchor statistics, coverage and optimised anchors for a dataset.") { imageSize, output };
        foreach (var o in data.All) command.Options.Add(o);
        command.SetAction(parse => Program.Guard(() =>
        {
            var (records, classes, folder) = data.Read(parse);
            var ml = new MLContext(seed: 1);
            var result = AnchorTuner.Tune(DatasetArguments.Prepare(ml, records, classes, folder), new AnchorTuningOptions { ImageSize = parse.GetValue(imageSize) });
            string dir = parse.GetValue(output)!;
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "anchors.md"), result.ToMarkdown());
            result.SavePlot(Path.Combine(dir, "anchors.png"));
            Console.WriteLine(result.ToMarkdown());
            Console.WriteLine($"train with: {result.Anchors}");
            Console.WriteLine($"wrote {Path.Combine(dir, "anchors.md")} and {Path.Combine(dir, "anchors.png")}");
        }));
        return command;
    }
}

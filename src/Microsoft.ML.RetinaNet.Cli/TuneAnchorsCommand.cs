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
        var imageSize = new Option<int>("--image-size") { Description = "the training image size (coverage is measured there)",
            DefaultValueFactory = _ => 512 };
        var output = new Option<string>("--output") { Description = "folder for anchors.md and anchors.png", DefaultValueFactory = _
            => Path.Combine("runs", "anchors") };
        var strides = new Option<bool>("--tune-strides")
        {
            Description = "choose anchor strides too (finer where thin objects pay for the extra anchors); false keeps 8..128",
                DefaultValueFactory = _ => true,
        };
        var budget = new Option<double>("--max-anchor-factor")
        {
            Description = "the most anchors tuned strides may give, as a multiple of the count at strides 8..128", DefaultValueFactory = _ => 4,
        };
        var command = new System.CommandLine.Command("tune-anchors",
            "Anchor statistics, coverage and optimised sizes, strides, scales and ratios for a dataset.")
        {
            imageSize, strides, budget, output,
        };
        foreach (var o in data.All) command.Options.Add(o);
        command.SetAction(parse => Program.Guard(() =>
        {
            var (records, classes, folder) = data.Read(parse);
            var ml = new MLContext(seed: 1);
            var result = AnchorTuner.Tune(DatasetArguments.Prepare(ml, records, classes, folder), new AnchorTuningOptions
            {
                ImageSize = parse.GetValue(imageSize), TuneStrides = parse.GetValue(strides), MaxAnchorFactor = parse.GetValue(budget),
            });
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

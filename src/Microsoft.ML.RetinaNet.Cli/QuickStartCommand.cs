using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.RetinaNet.Datasets;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>
/// The main job for now: generate a small shapes dataset, train RetinaNet through an ML.NET pipeline with a
/// validation split, and print COCO metrics on a held-out test split.
/// </summary>
internal static class QuickStartCommand
{
    public static System.CommandLine.Command Create()
    {
        var output = new Option<string>("--output") { Description = "folder for the generated images", DefaultValueFactory = _
            => Path.Combine("runs", "quickstart") };
        var images = new Option<int>("--images") { Description = "training images to generate (validation and test get a quarter each)",
            DefaultValueFactory = _ => 48 };
        var imageSize = new Option<int>("--image-size") { Description = "letterbox size (a multiple of 32)", DefaultValueFactory = _ => 128 };
        var depth = new Option<int>("--depth") { Description = "ResNet depth: 18, 34, 50, 101 or 152", DefaultValueFactory = _ => 18 };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 12 };
        var batchSize = new Option<int>("--batch-size") { DefaultValueFactory = _ => 4 };
        var learningRate = new Option<double>("--learning-rate") { Description = "AdamW learning rate", DefaultValueFactory = _ => 5e-4 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var command = new System.CommandLine.Command("quickstart",
            "Generate shapes, train RetinaNet with an ML.NET pipeline, evaluate on a test split.")
        {
            output, images, imageSize, depth, epochs, batchSize, learningRate, seed,
        };
        command.SetAction(parse => Run(parse.GetValue(output)!, parse.GetValue(images), parse.GetValue(imageSize), parse.GetValue(depth),
            parse.GetValue(epochs), parse.GetValue(batchSize), parse.GetValue(learningRate), parse.GetValue(seed)));
        return command;
    }

    private static int Run(string output, int images, int imageSize, int depth, int epochs, int batchSize, double learningRate, int seed)
    {
        string folder = Path.GetFullPath(output);
        var train = SyntheticShapes.Write(Path.Combine(folder, "train"), images, imageSize, imageSize, seed);
        var validation = SyntheticShapes.Write(Path.Combine(folder, "validation"), Math.Max(1, images / 4), imageSize, imageSize, seed + 1);
        var test = SyntheticShapes.Write(Path.Combine(folder, "test"), Math.Max(1, images / 4), imageSize, imageSize, seed + 2);
        Console.WriteLine($"generated {train.Count} training, {validation.Count} validation and {test.Count} test images "
            + $"of {string.Join(", ", SyntheticShapes.Classes)} in {folder}");

        var ml = new MLContext(seed);
        ml.Log += (_, e) =>
        {
            if (e.Kind <= Microsoft.ML.Runtime.ChannelMessageKind.Info && e.Kind != Microsoft.ML.Runtime.ChannelMessageKind.Trace
                && e.Source.StartsWith(nameof(RetinaNetTrainer), StringComparison.Ordinal))
                Console.WriteLine(e.RawMessage);
        };
        var labels = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(train));
        IDataView Prepare(List<DetectionRecord> rows, string split) =>
            ml.Transforms.LoadImages("Image", Path.Combine(folder, split), nameof(DetectionRecord.ImagePath))
                .Fit(labels.Transform(ml.Data.LoadFromEnumerable(rows)))
                .Transform(labels.Transform(ml.Data.LoadFromEnumerable(rows)));

        var trainer = ml.MulticlassClassification.Trainers.RetinaNet(new RetinaNetTrainer.Options
        {
            Depth = depth, ImageSize = imageSize, Epochs = epochs, BatchSize = batchSize, Optimizer = RetinaNetOptimizer.AdamW,
            LearningRate = learningRate, WarmupSteps = 20, Schedule = LearningRateSchedule.Cosine, ValidationSet = Prepare(validation, "validation"),
            Seed = seed, LogEveryNSteps = 20,
        });
        var watch = Stopwatch.StartNew();
        using var model = trainer.Fit(Prepare(train, "train"));
        Console.WriteLine($"trained in {watch.Elapsed.TotalSeconds:F0} s");
        var metrics = ml.MulticlassClassification.EvaluateCocoDetection(model.Transform(Prepare(test, "test")));
        Console.WriteLine();
        Console.WriteLine($"Test split ({metrics.ImageCount} images, {metrics.GroundTruthCount} objects):");
        Console.WriteLine(metrics.ToMarkdown());
        return 0;
    }
}

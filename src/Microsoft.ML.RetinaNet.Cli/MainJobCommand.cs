using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.RetinaNet.AnchorTuning;
using Microsoft.ML.RetinaNet.Datasets;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>
/// The main job: generate the ski-scene dataset, tune anchors on it, train a CPU-sized RetinaNet (ResNet-18) with
/// validation, evaluate on the test split, and write a report folder: metrics (Markdown, JSON), the anchor report and
/// picture, the loss/mAP curve, prediction pictures, model.zip and model.onnx. Ctrl+C stops between two steps and keeps
/// the last epoch's checkpoint.
/// </summary>
internal static class MainJobCommand
{
    public static System.CommandLine.Command Create()
    {
        var output = new Option<string>("--output") { Description = "run folder (data, checkpoints, report)", DefaultValueFactory = _ => Path.Combine("runs", "main") };
        var train = new Option<int>("--train") { Description = "training images", DefaultValueFactory = _ => 200 };
        var validation = new Option<int>("--validation") { Description = "validation images", DefaultValueFactory = _ => 30 };
        var test = new Option<int>("--test") { Description = "test images", DefaultValueFactory = _ => 60 };
        var imageSize = new Option<int>("--image-size") { Description = "scene and training size", DefaultValueFactory = _ => 320 };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 4 };
        var batchSize = new Option<int>("--batch-size") { DefaultValueFactory = _ => 4 };
        var learningRate = new Option<double>("--learning-rate") { Description = "AdamW learning rate", DefaultValueFactory = _ => 1e-3 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var command = new System.CommandLine.Command("scenes", "The main job: scene dataset → anchors → training → evaluation → report folder.")
        {
            output, train, validation, test, imageSize, epochs, batchSize, learningRate, seed,
        };
        command.SetAction(parse => Program.Guard(() => Run(parse.GetValue(output)!, parse.GetValue(train), parse.GetValue(validation), parse.GetValue(test),
            parse.GetValue(imageSize), parse.GetValue(epochs), parse.GetValue(batchSize), parse.GetValue(learningRate), parse.GetValue(seed))));
        return command;
    }

    private static void Run(string output, int trainCount, int validationCount, int testCount, int size, int epochs, int batchSize, double learningRate, int seed)
    {
        var clock = Stopwatch.StartNew();
        string report = Path.Combine(output, "report");
        Directory.CreateDirectory(report);
        var splits = SkiSceneDataset.Generate(Path.Combine(output, "data"), trainCount, validationCount, testCount, size, seed);
        Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] generated {string.Join(", ", splits.Select(s => $"{s.Records.Count} {s.Name}"))} ski scenes ({size}×{size}) in {Path.Combine(output, "data")}");

        var ml = new MLContext(seed);
        ml.Log += (_, e) =>
        {
            if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Info && e.Source.StartsWith(nameof(RetinaNetTrainer), StringComparison.Ordinal) && !e.RawMessage.StartsWith("anchor tuning", StringComparison.Ordinal))
                Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] {e.RawMessage}");
        };
        var classes = SkiSceneBoxes.Classes;
        IDataView Data(int split) => DatasetArguments.Prepare(ml, splits[split].Records, classes, splits[split].ImageFolder);
        var trainData = Data(0);

        var anchors = AnchorTuner.Tune(trainData, new AnchorTuningOptions { ImageSize = size, Seed = seed });
        File.WriteAllText(Path.Combine(report, "anchors.md"), anchors.ToMarkdown());
        anchors.SavePlot(Path.Combine(report, "anchors.png"));
        Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] anchors: default {anchors.BaseCoverage.CoveredFraction:P1} of boxes covered at IoU 0.5, tuned {anchors.Coverage.CoveredFraction:P1} ({anchors.Anchors})");

        var options = new RetinaNetTrainer.Options
        {
            Depth = 18, ImageSize = size, Epochs = epochs, BatchSize = batchSize, Optimizer = RetinaNetOptimizer.AdamW, LearningRate = learningRate,
            Schedule = LearningRateSchedule.Cosine, WarmupSteps = 30, Anchors = anchors.Anchors, ValidationSet = Data(1), Seed = seed,
            CheckpointDirectory = Path.Combine(output, "checkpoints"), LogEveryNSteps = 10,
        };
        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
            Console.WriteLine("stopping after the current step…");
        };
        Console.CancelKeyPress += onCancel;
        RetinaNetTransformer model;
        try
        {
            model = ml.MulticlassClassification.Trainers.RetinaNet(options).Fit(trainData, stop.Token);
        }
        catch (OperationCanceledException)
        {
            throw new OperationCanceledException($"stopped by Ctrl+C; the last finished epoch's weights are in {options.CheckpointDirectory}");
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }

        using (model)
        {
            var metrics = ml.MulticlassClassification.EvaluateCocoDetection(model.Transform(Data(2)));
            File.WriteAllText(Path.Combine(report, "metrics.md"), metrics.ToMarkdown());
            File.WriteAllText(Path.Combine(report, "metrics.json"), JsonSerializer.Serialize(metrics, new JsonSerializerOptions { WriteIndented = true }));
            File.WriteAllText(Path.Combine(report, "history.json"), JsonSerializer.Serialize(model.History, new JsonSerializerOptions { WriteIndented = true }));
            CurvePlot.Save(Path.Combine(report, "curves.png"), model.History);
            ml.Model.Save(model, trainData.Schema, Path.Combine(report, "model.zip"));
            model.ExportToOnnx(Path.Combine(report, "model.onnx"));
            string sample = Path.Combine(output, "data", "test-sample");
            Directory.CreateDirectory(sample);
            foreach (var r in splits[2].Records.Take(8))
                File.Copy(Path.Combine(splits[2].ImageFolder, r.ImagePath), Path.Combine(sample, r.ImagePath), overwrite: true);
            PredictCommand.Draw(Path.Combine(report, "model.zip"), sample, Path.Combine(report, "predictions"), 0.3f);

            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Test split ({metrics.ImageCount} images, {metrics.GroundTruthCount} objects): AP50 {metrics.AveragePrecision50:F3}, mAP {metrics.MeanAveragePrecision:F3} after {clock.Elapsed.TotalMinutes:F1} minutes"));
            Console.WriteLine(metrics.ToMarkdown());
            Console.WriteLine($"report: {Path.GetFullPath(report)} (metrics.md/json, anchors.md/png, curves.png, predictions/, model.zip, model.onnx)");
        }
    }
}

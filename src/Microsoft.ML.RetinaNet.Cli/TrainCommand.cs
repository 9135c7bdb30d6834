using System.CommandLine;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Modeling;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>Trains on an annotated dataset and writes model.zip (ML.NET) and model.onnx.</summary>
internal static class TrainCommand
{
    public static System.CommandLine.Command Create()
    {
        var data = new DatasetArguments("", required: true);
        var validation = new DatasetArguments("val-", required: false);
        var output = new Option<string>("--output") { Description = "folder for model.zip and model.onnx", DefaultValueFactory = _ => Path.Combine("runs", "train") };
        var depth = new Option<int>("--depth") { DefaultValueFactory = _ => 50 };
        var version = new Option<RetinaNetVersion>("--version") { DefaultValueFactory = _ => RetinaNetVersion.V1 };
        var imageSize = new Option<int>("--image-size") { DefaultValueFactory = _ => 512 };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 12 };
        var batchSize = new Option<int>("--batch-size") { DefaultValueFactory = _ => 2 };
        var optimizer = new Option<RetinaNetOptimizer>("--optimizer") { DefaultValueFactory = _ => RetinaNetOptimizer.Sgd };
        var learningRate = new Option<double>("--learning-rate") { DefaultValueFactory = _ => 0.01 };
        var schedule = new Option<LearningRateSchedule>("--schedule") { DefaultValueFactory = _ => LearningRateSchedule.Step };
        var warmup = new Option<int>("--warmup-steps") { DefaultValueFactory = _ => 100 };
        var pretrained = new Option<string?>("--pretrained") { Description = "torchvision .pth (RetinaNet or ImageNet ResNet)" };
        var tune = new Option<bool>("--tune-anchors") { Description = "tune anchor scales and ratios on the training boxes first" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var command = new System.CommandLine.Command("train", "Train RetinaNet on COCO, VOC, CSV or YOLO annotations.")
        {
            output, depth, version, imageSize, epochs, batchSize, optimizer, learningRate, schedule, warmup, pretrained, tune, seed,
        };
        foreach (var o in data.All.Concat(validation.All)) command.Options.Add(o);
        command.SetAction(parse => Program.Guard(() =>
        {
            var ml = new MLContext(parse.GetValue(seed));
            ml.Log += (_, e) =>
            {
                if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Info && e.Source.StartsWith(nameof(RetinaNetTrainer), StringComparison.Ordinal))
                    Console.WriteLine(e.RawMessage);
            };
            var (records, classes, folder) = data.Read(parse);
            var trainData = DatasetArguments.Prepare(ml, records, classes, folder);
            var options = new RetinaNetTrainer.Options
            {
                Depth = parse.GetValue(depth), Version = parse.GetValue(version), ImageSize = parse.GetValue(imageSize), Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batchSize), Optimizer = parse.GetValue(optimizer), LearningRate = parse.GetValue(learningRate),
                Schedule = parse.GetValue(schedule), WarmupSteps = parse.GetValue(warmup), PretrainedWeightsPath = parse.GetValue(pretrained),
                TuneAnchors = parse.GetValue(tune), Seed = parse.GetValue(seed),
            };
            if (validation.Given(parse))
            {
                var (valRecords, _, valFolder) = validation.Read(parse);
                options.ValidationSet = DatasetArguments.Prepare(ml, valRecords, classes, valFolder);
            }
            using var model = ml.MulticlassClassification.Trainers.RetinaNet(options).Fit(trainData);
            string dir = parse.GetValue(output)!;
            Directory.CreateDirectory(dir);
            ml.Model.Save(model, trainData.Schema, Path.Combine(dir, "model.zip"));
            model.ExportToOnnx(Path.Combine(dir, "model.onnx"));
            File.WriteAllLines(Path.Combine(dir, "classes.txt"), classes);
            Console.WriteLine($"wrote {Path.Combine(dir, "model.zip")}, model.onnx and classes.txt");
        }));
        return command;
    }
}

// An experiment in the AutoML manner (Microsoft.ML.AutoML is not needed): train a few option sets — anchors, image size,
// learning rate, a pretrained backbone — on the same data and print them ranked by validation AP50.
// Run: dotnet run --project examples/Experiment -c Release
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.RetinaNet;
using Microsoft.ML.RetinaNet.Datasets;

string folder = Path.Combine(Path.GetTempPath(), "retinanet-experiment");
var train = SyntheticShapes.Write(Path.Combine(folder, "train"), 16, 128, 128, seed: 1);
var validation = SyntheticShapes.Write(Path.Combine(folder, "validation"), 8, 128, 128, seed: 2);
var mlContext = new MLContext(seed: 1);
var labels = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(mlContext.Data.LoadFromEnumerable(train));
IDataView Load(List<DetectionRecord> rows, string split) => mlContext.Transforms.LoadImages("Image", Path.Combine(folder, split), nameof(DetectionRecord.ImagePath))
    .Fit(labels.Transform(mlContext.Data.LoadFromEnumerable(rows))).Transform(labels.Transform(mlContext.Data.LoadFromEnumerable(rows)));
var trainData = Load(train, "train");
var validationData = Load(validation, "validation");

var trials = new (string Name, Action<RetinaNetTrainer.Options> Set)[]
{
    ("defaults, 128 px, lr 5e-4", o => { }),
    ("tuned anchors", o => o.TuneAnchors = true),
    ("96 px", o => o.ImageSize = 96),
    ("lr 1e-3", o => o.LearningRate = 1e-3),
    // fine-tuning from ML.NET's ImageNet ResNet-18 (package Microsoft.ML.DnnImageFeaturizer.ResNet18)
    ("pretrained ResNet-18", o => o.PretrainedBackbone = PretrainedBackbone.ResNet18),
    ("pretrained ResNet-18, tuned anchors", o => { o.PretrainedBackbone = PretrainedBackbone.ResNet18; o.TuneAnchors = true; }),
};
var results = new List<(string Name, double Ap50, double Map, double Seconds)>();
foreach (var (name, set) in trials)
{
    var options = new RetinaNetTrainer.Options
    {
        Depth = 18, ImageSize = 128, BatchSize = 4, Epochs = 12, Optimizer = RetinaNetOptimizer.AdamW, LearningRate = 5e-4, WarmupSteps = 5, Seed = 1,
    };
    set(options);
    var clock = Stopwatch.StartNew();
    using var model = mlContext.MulticlassClassification.Trainers.RetinaNet(options).Fit(trainData);
    var metrics = mlContext.MulticlassClassification.EvaluateCocoDetection(model.Transform(validationData));
    results.Add((name, metrics.AveragePrecision50, metrics.MeanAveragePrecision, clock.Elapsed.TotalSeconds));
    Console.WriteLine($"{name}: AP50 {metrics.AveragePrecision50:F3}");
}
Console.WriteLine("\n| rank | trial | validation AP50 | mAP | seconds |\n|---|---|---|---|---|");
int rank = 0;
foreach (var r in results.OrderByDescending(r => r.Ap50))
    Console.WriteLine($"| {++rank} | {r.Name} | {r.Ap50:F3} | {r.Map:F3} | {r.Seconds:F0} |");

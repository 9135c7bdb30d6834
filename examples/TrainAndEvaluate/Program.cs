// Train RetinaNet in an ML.NET pipeline and read its COCO metrics: the two catalog methods,
// mlContext.MulticlassClassification.Trainers.RetinaNet(...) and mlContext.MulticlassClassification.EvaluateCocoDetection(...).
// Run: dotnet run --project examples/TrainAndEvaluate -c Release
using Microsoft.ML;
using Microsoft.ML.RetinaNet;
using Microsoft.ML.RetinaNet.Datasets;

string folder = Path.Combine(Path.GetTempPath(), "retinanet-example");
List<DetectionRecord> train = SyntheticShapes.Write(Path.Combine(folder, "train"), count: 16, width: 128, height: 128, seed: 1);
List<DetectionRecord> test = SyntheticShapes.Write(Path.Combine(folder, "test"), count: 8, width: 128, height: 128, seed: 2);

var mlContext = new MLContext(seed: 1);
mlContext.Log += (_, e) => { if (e.Source.StartsWith("RetinaNetTrainer") && e.RawMessage.Contains("done in")) Console.WriteLine(e.RawMessage); };

// Flat arguments, with the column names of ML.NET's ObjectDetection trainer (run with --flat) ...
RetinaNetTrainer trainer = args.Contains("--flat")
    ? mlContext.MulticlassClassification.Trainers.RetinaNet(maxEpoch: 20, depth: 18, imageSize: 128, batchSize: 4)
    // ... or every option, here fine-tuning from ML.NET's ImageNet ResNet-18 (package Microsoft.ML.DnnImageFeaturizer.ResNet18).
    : mlContext.MulticlassClassification.Trainers.RetinaNet(new RetinaNetTrainer.Options
    {
        PretrainedBackbone = PretrainedBackbone.ResNet18, ImageSize = 128, BatchSize = 4, Epochs = 20,
        Optimizer = RetinaNetOptimizer.AdamW, LearningRate = 5e-4, WarmupSteps = 10, Schedule = LearningRateSchedule.Cosine,
    });

var labels = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(mlContext.Data.LoadFromEnumerable(train));
var pipeline = mlContext.Transforms.LoadImages("Image", Path.Combine(folder, "train"), nameof(DetectionRecord.ImagePath))
    .Append(trainer);
var model = pipeline.Fit(labels.Transform(mlContext.Data.LoadFromEnumerable(train)));

var testData = mlContext.Transforms.LoadImages("Image", Path.Combine(folder, "test"), nameof(DetectionRecord.ImagePath))
    .Fit(labels.Transform(mlContext.Data.LoadFromEnumerable(test)))
    .Transform(labels.Transform(mlContext.Data.LoadFromEnumerable(test)));
var metrics = mlContext.MulticlassClassification.EvaluateCocoDetection(model.LastTransformer.Transform(testData));
Console.WriteLine($"mAP@[.50:.95] {metrics.MeanAveragePrecision:F3}, AP50 {metrics.AveragePrecision50:F3}");
Console.WriteLine(metrics.ToMarkdown());

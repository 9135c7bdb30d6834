using System.Diagnostics;
using Microsoft.ML.RetinaNet.Datasets;

namespace Microsoft.ML.RetinaNet.Tests.Estimator;

/// <summary>
/// Trains once, for all tests of the "trained shapes model" collection: ResNet-18 RetinaNet from scratch on 8 generated
/// 128×128 images of squares, discs and bars (AdamW 5e-4, 40 epochs of 2 steps; about 40 s on 2 cores).
/// </summary>
[Xunit.CollectionDefinition(Name)]
public sealed class TrainedShapesCollection : Xunit.ICollectionFixture<TrainedShapesFixture>
{
    public const string Name = "trained shapes model";
}

public sealed class TrainedShapesFixture : IDisposable
{
    public TrainedShapesFixture()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("retinanet-shapes-").FullName;
        Ml = new MLContext(seed: 1);
        Ml.Log += (_, e) =>
        {
            if (e.Source.StartsWith(nameof(RetinaNetTrainer), StringComparison.Ordinal))
                lock (Messages) Messages.Add(e.RawMessage);
        };
        Rows = SyntheticShapes.Write(Directory, 8, 128, 128, seed: 3);
        Data = Ml.Data.LoadFromEnumerable(Rows);
        Options = new RetinaNetTrainer.Options
        {
            Depth = 18, ImageSize = 128, BatchSize = 4, Epochs = 40, Optimizer = RetinaNetOptimizer.AdamW, LearningRate = 5e-4,
            WarmupSteps = 10, Schedule = LearningRateSchedule.Constant, ScaleJitterMin = 1, ScaleJitterMax = 1, LogEveryNSteps = 1,
        };
        var pipeline = Ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(Ml.Transforms.LoadImages("Image", Directory, nameof(DetectionRecord.ImagePath)))
            .Append(Ml.MulticlassClassification.Trainers.RetinaNet(Options));
        var watch = Stopwatch.StartNew();
        Model = pipeline.Fit(Data);
        TrainingSeconds = watch.Elapsed.TotalSeconds;
        PeakWorkingSetMiB = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
    }

    public string Directory { get; }
    public MLContext Ml { get; }
    public List<string> Messages { get; } = new();
    public List<DetectionRecord> Rows { get; }
    public IDataView Data { get; }
    public RetinaNetTrainer.Options Options { get; }
    public ITransformer Model { get; }
    public double TrainingSeconds { get; }
    public double PeakWorkingSetMiB { get; }

    public void Dispose()
    {
        (Model as IDisposable)?.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}

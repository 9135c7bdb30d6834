using System.Diagnostics;
using Microsoft.ML.RetinaNet.Runtime;
using Microsoft.ML.RetinaNet.Datasets;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests.Estimator;

public sealed class CancellationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-cancel-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (MLContext Ml, IDataView Data, RetinaNetTrainer Trainer) Setup()
    {
        var ml = new MLContext(seed: 1);
        var rows = SyntheticShapes.Write(_dir, 4, 64, 64, seed: 5);
        var raw = ml.Data.LoadFromEnumerable(rows);
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", _dir, nameof(DetectionRecord.ImagePath))).Fit(raw).Transform(raw);
        var trainer = ml.MulticlassClassification.Trainers.RetinaNet(new RetinaNetTrainer.Options { Depth = 18, ImageSize = 64, BatchSize = 2, Epochs = 500, LogEveryNSteps = 1 });
        return (ml, data, trainer);
    }

    [Fact]
    public void ACancellationTokenStopsTrainingAtTheNextStep()
    {
        var (ml, data, trainer) = Setup();
        using var source = new CancellationTokenSource();
        var cancelledAt = new Stopwatch();
        ml.Log += (_, e) =>
        {
            if (e.RawMessage.StartsWith("epoch 1/500 step 2/2", StringComparison.Ordinal))
            {
                source.Cancel();
                cancelledAt.Start();
            }
        };
        var error = Assert.Throws<OperationCanceledException>(() => trainer.Fit(data, source.Token));
        Assert.Contains("cancelled before epoch 2, step 1", error.Message);
        Assert.InRange(cancelledAt.Elapsed.TotalSeconds, 0, 20); // the end-of-epoch work only, not 499 more epochs
    }

    [Fact]
    public void MLContextCancelExecutionStopsTraining()
    {
        var (ml, data, trainer) = Setup();
        ml.Log += (_, e) =>
        {
            if (e.RawMessage.StartsWith("epoch 2/500 step 1/2", StringComparison.Ordinal))
                MLNetInternals.CancelExecution(ml); // internal in ML.NET 5.0.1; AutoML-style callers use it
        };
        var error = Assert.Throws<OperationCanceledException>(() => trainer.Fit(data));
        Assert.Contains("cancelled before epoch 2, step 2", error.Message);
    }

    [Fact]
    public void TheMLNetInternalsThisLibraryReadsAreWhereItExpects()
    {
        var ml = new MLContext(seed: 1) { GpuDeviceId = 3, FallbackToCpu = true };
        var env = MLNetInternals.Environment(ml.MulticlassClassification.Trainers);
        Assert.Equal((3, true), MLNetInternals.GpuSettings(env));
        var probe = MLNetInternals.CancellationProbe(env);
        Assert.False(probe());
        MLNetInternals.CancelExecution(ml);
        Assert.True(probe());
    }
}

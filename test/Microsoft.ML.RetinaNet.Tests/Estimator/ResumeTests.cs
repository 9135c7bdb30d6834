using Microsoft.ML.RetinaNet.Datasets;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.RetinaNet.Tests.Estimator;

/// <summary>Training cancelled after an epoch and resumed from its checkpoint ends where an unbroken run ends.</summary>
public sealed class ResumeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-resume-").FullName;
    private readonly ITestOutputHelper _output;

    public ResumeTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (MLContext Ml, IDataView Data) Setup()
    {
        var ml = new MLContext(seed: 1);
        var rows = SyntheticShapes.Write(Path.Combine(_dir, "images"), 8, 64, 64, seed: 9);
        var raw = ml.Data.LoadFromEnumerable(rows);
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", Path.Combine(_dir, "images"), nameof(DetectionRecord.ImagePath)))
            .Fit(raw).Transform(raw);
        return (ml, data);
    }

    private static RetinaNetTrainer.Options Options(string? checkpoints) => new()
    {
        Depth = 18, ImageSize = 64, BatchSize = 4, Epochs = 2, Optimizer = RetinaNetOptimizer.AdamW, LearningRate = 5e-4, WarmupSteps = 2,
        CheckpointDirectory = checkpoints, Seed = 3,
    };

    [Fact]
    public void ResumingAfterEpochOneGivesTheWeightsOfAnUnbrokenRun()
    {
        var (ml, data) = Setup();
        using var straight = ml.MulticlassClassification.Trainers.RetinaNet(Options(null)).Fit(data);

        string checkpoints = Path.Combine(_dir, "checkpoints");
        var log = new List<string>();
        using var stop = new CancellationTokenSource();
        ml.Log += (_, e) =>
        {
            if (!e.Source.StartsWith(nameof(RetinaNetTrainer), StringComparison.Ordinal)) return;
            lock (log) log.Add(e.RawMessage);
            if (e.RawMessage.StartsWith("epoch 1/2 done", StringComparison.Ordinal)) stop.Cancel();
        };
        Assert.Throws<OperationCanceledException>(() => ml.MulticlassClassification.Trainers.RetinaNet(Options(checkpoints)).Fit(data, stop.Token));
        Assert.True(File.Exists(Path.Combine(checkpoints, "checkpoint.json")));

        var resumeOptions = Options(checkpoints);
        resumeOptions.ResumeFromCheckpoint = true;
        using var resumed = ml.MulticlassClassification.Trainers.RetinaNet(resumeOptions).Fit(data);
        Assert.Contains(log, m => m.StartsWith("resuming after epoch 1 (step 2)", StringComparison.Ordinal));
        Assert.DoesNotContain(log.SkipWhile(m => !m.StartsWith("resuming", StringComparison.Ordinal)), m => m.StartsWith("epoch 1/2", StringComparison.Ordinal));

        Assert.Equal(straight.History.Select(h => h.MeanLoss), resumed.History.Select(h => h.MeanLoss));
        var a = straight.Model.Network.state_dict();
        var b = resumed.Model.Network.state_dict();
        double worst = 0;
        foreach (var (name, tensor) in a)
        {
            if (tensor.numel() == 0 || tensor.dtype != TorchSharp.torch.ScalarType.Float32) continue;
            worst = Math.Max(worst, (tensor - b[name]).abs().max().item<float>());
        }
        _output.WriteLine($"largest weight difference after resuming: {worst:E2}");
        Assert.True(worst <= 1e-5, $"weights differ by up to {worst}");
    }
}

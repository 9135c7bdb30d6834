using Microsoft.ML.RetinaNet.Datasets;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests.Estimator;

/// <summary>A loss that stops being finite ends training with the step, the rows and the learning rate named.</summary>
public sealed class DivergenceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-nan-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ANonFiniteLossStopsTrainingWithTheStepRowsAndLearningRate()
    {
        var ml = new MLContext(seed: 1);
        var rows = SyntheticShapes.Write(_dir, 4, 64, 64, seed: 2);
        var raw = ml.Data.LoadFromEnumerable(rows);
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", _dir, nameof(DetectionRecord.ImagePath))).Fit(raw).Transform(raw);
        var options = new RetinaNetTrainer.Options
        {
            Depth = 18, ImageSize = 64, BatchSize = 2, Epochs = 5, LearningRate = 1e12, WarmupSteps = 0, GradientClipNorm = 0, Momentum = 0,
        };
        var error = Assert.Throws<InvalidOperationException>(() => ml.MulticlassClassification.Trainers.RetinaNet(options).Fit(data));
        Assert.Matches(@"^The loss became (NaN|∞|-∞|Infinity|-Infinity) at epoch \d+, step \d+ \(learning rate 1E\+12\) on row \d+ \('shapes-[\d-]+\.png'\), row \d+ \('shapes-[\d-]+\.png'\)\. Lower LearningRate", error.Message);
    }
}

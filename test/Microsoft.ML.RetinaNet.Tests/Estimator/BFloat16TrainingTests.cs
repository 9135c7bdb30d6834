using Microsoft.ML.RetinaNet.Datasets;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.RetinaNet.Tests.Estimator;

/// <summary>
/// Training equivalence: the same run (weights, batches, augmentation) in float32 and in bfloat16 gives loss curves and
/// test AP50 that stay together. The issue's criterion (AP50 within 0.02) is measured on the main job, where it holds
/// (0.635 against 0.636); this small run is the check CI can afford.
/// </summary>
public sealed class BFloat16TrainingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-bf16-").FullName;
    private readonly ITestOutputHelper _output;

    public BFloat16TrainingTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class ClassRow
    {
        public string Name { get; set; } = "";
    }

    [Fact]
    public void BFloat16TrainsLikeFloat32()
    {
        var ml = new MLContext(seed: 1);
        IDataView Load(string name, int count, int seed)
        {
            string folder = Path.Combine(_dir, name);
            var rows = SyntheticShapes.Write(folder, count, 128, 128, seed);
            var raw = ml.Data.LoadFromEnumerable(rows);
            var keys = ml.Data.LoadFromEnumerable(SyntheticShapes.Classes.Select(c => new ClassRow { Name = c }));
            return ml.Transforms.Conversion.MapValueToKey("Label", keyData: keys)
                .Append(ml.Transforms.LoadImages("Image", folder, nameof(DetectionRecord.ImagePath))).Fit(raw).Transform(raw);
        }
        var train = Load("train", 24, 3);
        var test = Load("test", 12, 4);
        (double[] Losses, double Ap50, double Seconds) Run(TrainingPrecision precision)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var options = new RetinaNetTrainer.Options
            {
                Depth = 18, ImageSize = 128, BatchSize = 4, Epochs = 12, Optimizer = RetinaNetOptimizer.AdamW, LearningRate = 2.5e-4,
                WarmupSteps = 6, Schedule = LearningRateSchedule.Cosine, Precision = precision, Seed = 1,
            };
            using var model = ml.MulticlassClassification.Trainers.RetinaNet(options).Fit(train);
            var metrics = ml.MulticlassClassification.EvaluateCocoDetection(model.Transform(test));
            return (model.History.Select(h => h.MeanLoss).ToArray(), metrics.AveragePrecision50, clock.Elapsed.TotalSeconds);
        }
        var f32 = Run(TrainingPrecision.Float32);
        var b16 = Run(TrainingPrecision.BFloat16);
        _output.WriteLine($"float32 ({f32.Seconds:F0} s): losses {string.Join(", ", f32.Losses.Select(l => l.ToString("F3")))}; test AP50 {f32.Ap50:F3}");
        _output.WriteLine($"bfloat16 ({b16.Seconds:F0} s): losses {string.Join(", ", b16.Losses.Select(l => l.ToString("F3")))}; test AP50 {b16.Ap50:F3}");
        // Measured here (weights from the fit's own seeded generator since the global-generator fix): float32 1.832, 1.647,
        // 1.356, … 0.834, 0.778, 0.744, AP50 0.192; bfloat16 1.832, 1.648, 1.368, … 0.819, 0.729, 0.698, AP50 0.190. (Before
        // it, both spiked at the learning rate's peak, 52.5 and 57.9, from weights drawn from the shared global generator.)
        // The second half of the curves within 10 % epoch by epoch (measured ≤ 6.2 %, the last epoch, bfloat16 lower);
        // AP50 over 12 test images (24 objects; one object moves it by about 0.04) within 0.05.
        Assert.Equal(12, b16.Losses.Length);
        Assert.Equal(f32.Losses[0], b16.Losses[0], 0.01); // the first epoch starts from the same weights and batches
        for (int epoch = 6; epoch < 12; epoch++)
            Assert.True(Math.Abs(b16.Losses[epoch] - f32.Losses[epoch]) <= 0.10 * f32.Losses[epoch],
                $"epoch {epoch + 1}: bfloat16 loss {b16.Losses[epoch]:F3} against float32 {f32.Losses[epoch]:F3}");
        Assert.True(f32.Losses[^1] < 0.5 * f32.Losses[0] && b16.Losses[^1] < 0.5 * b16.Losses[0], "both runs should converge");
        Assert.True(Math.Abs(b16.Ap50 - f32.Ap50) <= 0.05, $"test AP50: bfloat16 {b16.Ap50:F3} against float32 {f32.Ap50:F3}");
    }
}

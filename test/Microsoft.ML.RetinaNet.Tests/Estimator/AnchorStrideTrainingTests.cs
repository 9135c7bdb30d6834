using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Datasets;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.RetinaNet.Tests.Estimator;

/// <summary>
/// A model with finer anchor strides (2 × 2 anchor centres per P3 cell) through everything a model goes through: training
/// with checkpoints, resume (bit for bit, and refused with other strides), scoring by the fitted transformer against the
/// TorchSharp network itself, model.zip in a fresh context, and the int8 export.
/// </summary>
[Xunit.Collection(BitExactTrainingCollection.Name)]
public sealed class AnchorStrideTrainingTests : IDisposable
{
    private static readonly int[] FinerP3 = { 4, 16, 32, 64, 128 };
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-strides-").FullName;
    private readonly ITestOutputHelper _output;
    private readonly MLContext _ml = new(seed: 1);
    private readonly List<DetectionRecord> _rows;
    private readonly IDataView _data;

    public AnchorStrideTrainingTests(ITestOutputHelper output)
    {
        _output = output;
        _rows = SyntheticShapes.Write(Path.Combine(_dir, "images"), 8, 96, 96, seed: 7);
        var raw = _ml.Data.LoadFromEnumerable(_rows);
        _data = _ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(_ml.Transforms.LoadImages("Image", Path.Combine(_dir, "images"), nameof(DetectionRecord.ImagePath)))
            .Fit(raw).Transform(raw);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private RetinaNetTrainer.Options Options(int epochs, int[] strides, bool resume = false, bool checkpoints = true) => new()
    {
        Depth = 18, ImageSize = 96, BatchSize = 4, Epochs = epochs, Optimizer = RetinaNetOptimizer.AdamW, LearningRate = 5e-4, WarmupSteps = 2,
        Seed = 4, Anchors = new AnchorOptions { Strides = (int[])strides.Clone() }, CheckpointDirectory = checkpoints ? Path.Combine(_dir,
            "checkpoints") : null,
        ResumeFromCheckpoint = resume, ScoreThreshold = 0.01,
    };

    private RetinaNetTransformer Fit(RetinaNetTrainer.Options options) => _ml.MulticlassClassification.Trainers.RetinaNet(options).Fit(_data);

    private List<DetectionOutput> Score(MLContext ml, ITransformer model) =>
        ml.Data.CreateEnumerable<DetectionOutput>(model.Transform(_data), reuseRowObject: false).ToList();

    [Fact]
    public void FinerP3AnchorsTrainResumeScoreSaveAndExport()
    {
        using var unbroken = Fit(Options(3, FinerP3, checkpoints: false));
        using var twoEpochs = Fit(Options(2, FinerP3));
        Assert.Equal(FinerP3, twoEpochs.Anchors.Strides);
        int classes = twoEpochs.ClassNames.Count;
        // the subnets' last convolutions predict 4 × 9 anchors per location; everything before them is torchvision's
        Assert.Equal(new long[] { 36 * classes, 256, 3, 3 },
            twoEpochs.Model.Network.state_dict()["head.classification_head.cls_logits.weight"].shape);
        Assert.Equal(new long[] { 36 * 4, 256, 3, 3 }, twoEpochs.Model.Network.state_dict()["head.regression_head.bbox_reg.weight"].shape);
        Assert.Equal(new long[] { 256, 256, 3, 3 }, twoEpochs.Model.Network.state_dict()["head.classification_head.conv.3.0.weight"].shape);

        // resume: a checkpoint of other strides is refused, naming them; the same strides continue to the unbroken run's weights
        var error = Assert.Throws<InvalidOperationException>(() => Fit(Options(3, new[] { 8, 16, 32, 64, 128 }, resume: true)));
        _output.WriteLine(error.Message);
        Assert.Contains("AnchorStrides 4 16 32 64 128 in the checkpoint, 8 16 32 64 128 now", error.Message);
        using var resumed = Fit(Options(3, FinerP3, resume: true));
        Assert.Equal(unbroken.History.Select(h => h.MeanLoss), resumed.History.Select(h => h.MeanLoss));
        var a = unbroken.Model.Network.state_dict();
        var b = resumed.Model.Network.state_dict();
        Assert.All(a, p => Assert.True(p.Value.equal(b[p.Key]).all().item<bool>(), $"{p.Key} differs after resume"));

        // the fitted transformer (ONNX Runtime in ML.NET's chain) detects what the TorchSharp network detects
        var scored = Score(_ml, resumed);
        int detections = 0;
        for (int i = 0; i < _rows.Count; i++)
        {
            using var image = MLImage.CreateFromFile(Path.Combine(_dir, "images", _rows[i].ImagePath));
            var eager = resumed.Model.Detect(image);
            Assert.Equal(eager.Scores.Length, scored[i].Score.Length);
            for (int d = 0; d < eager.Scores.Length; d++)
                Assert.True(Math.Abs(eager.Scores[d] - scored[i].Score[d]) <= 1e-4,
                    $"image {i} detection {d}: {eager.Scores[d]} vs {scored[i].Score[d]}");
            // boxes of detections whose score stands apart from its neighbours (near ties may swap)
            for (int d = 0; d < eager.Scores.Length; d++)
            {
                bool apart = (d == 0 || eager.Scores[d - 1] - eager.Scores[d] > 1e-4) && (d + 1 == eager.Scores.Length
                    || eager.Scores[d] - eager.Scores[d + 1] > 1e-4);
                if (!apart) continue;
                Assert.Equal(eager.Keys[d], scored[i].PredictedLabel[d]);
                for (int c = 0; c < 4; c++)
                    Assert.True(Math.Abs(eager.Boxes[4 * d + c] - scored[i].PredictedBoundingBoxes[4 * d + c]) <= 1e-2,
                        $"image {i} detection {d} coordinate {c}: {eager.Boxes[4 * d + c]} vs {scored[i].PredictedBoundingBoxes[4 * d + c]}");
            }
            detections += eager.Scores.Length;
        }
        _output.WriteLine($"{detections} detections over {_rows.Count} images");
        Assert.True(detections > 0, "the small model should detect something at score 0.01");

        // model.zip in a fresh context scores the same, bit for bit
        string zip = Path.Combine(_dir, "model.zip");
        _ml.Model.Save(resumed, _data.Schema, zip);
        var fresh = new MLContext(seed: 9);
        var loaded = fresh.Model.LoadRetinaNet(zip, out _);
        var again = Score(fresh, loaded);
        Assert.Equal(scored.Select(s => s.Score), again.Select(s => s.Score));
        Assert.Equal(scored.Select(s => s.PredictedBoundingBoxes), again.Select(s => s.PredictedBoundingBoxes));
        (loaded as IDisposable)?.Dispose();

        // the int8 export quantises the grown convolutions' inputs like any other and keeps them float32
        var report = resumed.ExportToOnnx(Path.Combine(_dir, "int8.onnx"), new Int8Calibration { Images = _data, MaxImages = 4,
            EvaluationData = _data });
        _output.WriteLine(report.ToString());
        Assert.Equal(4, report.CalibrationImages);
        Assert.NotNull(report.Int8);
        Assert.True(new FileInfo(Path.Combine(_dir, "int8.onnx")).Length < 0.5 * new FileInfo(zip).Length);
    }
}

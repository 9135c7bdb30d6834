using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Datasets;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.RetinaNet.Tests.Estimator;

public sealed class DetectionOutput
{
    public uint[] PredictedLabel { get; set; } = Array.Empty<uint>();
    public float[] Score { get; set; } = Array.Empty<float>();
    public float[] PredictedBoundingBoxes { get; set; } = Array.Empty<float>();
}

[Collection(TrainedShapesCollection.Name)]
public class RetinaNetEstimatorTests
{
    private readonly TrainedShapesFixture _trained;
    private readonly ITestOutputHelper _output;

    public RetinaNetEstimatorTests(TrainedShapesFixture trained, ITestOutputHelper output)
    {
        _trained = trained;
        _output = output;
    }

    private List<DetectionOutput> Score(IDataView data) =>
        _trained.Ml.Data.CreateEnumerable<DetectionOutput>(_trained.Model.Transform(data), reuseRowObject: false).ToList();

    [Fact]
    public void LossFallsAndTheDetectorFindsTheShapes()
    {
        var epochLosses = _trained.Messages
            .Select(m => Regex.Match(m, @"^epoch \d+/\d+ done in .* mean loss ([0-9.]+),"))
            .Where(m => m.Success)
            .Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
            .ToList();
        Assert.Equal(_trained.Options.Epochs, epochLosses.Count);
        Assert.True(epochLosses.TakeLast(5).Average() < 0.5 * epochLosses.Take(5).Average(),
            $"loss should fall: first epochs {string.Join(", ", epochLosses.Take(5))}, last {string.Join(", ", epochLosses.TakeLast(5))}");

        var metrics = _trained.Ml.MulticlassClassification.EvaluateCocoDetection(_trained.Model.Transform(_trained.Data));
        _output.WriteLine(metrics.ToMarkdown());
        foreach (var m in _trained.Messages.Where(m => m.Contains("done in"))) _output.WriteLine(m);
        _output.WriteLine($"training {_trained.TrainingSeconds:F1} s, peak working set {_trained.PeakWorkingSetMiB:F0} MiB");
        Assert.True(metrics.AveragePrecision50 >= 0.5, $"AP50 on the training images is {metrics.AveragePrecision50:F3}");
        Assert.Equal(SyntheticShapes.Classes.Count, metrics.PerClassAveragePrecision.Count);
    }

    [Fact]
    public void LogCarriesPerStepLossAndThroughput()
    {
        Assert.Contains(_trained.Messages, m => Regex.IsMatch(m, @"^epoch 1/40 step 1/2: loss [0-9.]+ \(classification [0-9.]+, box [0-9.]+\), lr [0-9.eE-]+, [0-9.]+ images/s$"));
        Assert.Contains(_trained.Messages, m => m.StartsWith("training on 8 images with", StringComparison.Ordinal));
    }

    [Fact]
    public void OutputColumnsFollowTheContract()
    {
        var scored = _trained.Model.Transform(_trained.Data);
        var label = scored.Schema["PredictedLabel"];
        var labelType = Assert.IsType<VectorDataViewType>(label.Type);
        Assert.False(labelType.IsKnownSize);
        var key = Assert.IsType<KeyDataViewType>(labelType.ItemType);
        Assert.Equal((ulong)SyntheticShapes.Classes.Count, key.Count);
        VBuffer<ReadOnlyMemory<char>> names = default;
        label.GetKeyValues(ref names);
        var expectedNames = _trained.Rows.SelectMany(r => r.Label).Distinct().ToArray(); // MapValueToKey: order of occurrence
        Assert.Equal(expectedNames, names.DenseValues().Select(n => n.ToString()).ToArray());
        foreach (var name in new[] { "Score", "PredictedBoundingBoxes" })
        {
            var type = Assert.IsType<VectorDataViewType>(scored.Schema[name].Type);
            Assert.False(type.IsKnownSize);
            Assert.Equal(NumberDataViewType.Single, type.ItemType);
        }

        foreach (var (row, output) in _trained.Rows.Zip(Score(_trained.Data)))
        {
            Assert.NotEmpty(output.Score);
            Assert.Equal(output.Score.Length, output.PredictedLabel.Length);
            Assert.Equal(4 * output.Score.Length, output.PredictedBoundingBoxes.Length);
            Assert.Equal(output.Score.OrderByDescending(s => s), output.Score);
            Assert.All(output.PredictedLabel, k => Assert.InRange(k, 1u, 3u));
            Assert.All(output.PredictedBoundingBoxes, v => Assert.InRange(v, 0f, 128f));
        }
    }

    [Fact]
    public void ScoringIsDeterministicAndPredictionEngineAgreesWithTransform()
    {
        var first = Score(_trained.Data);
        var second = Score(_trained.Data);
        for (int i = 0; i < first.Count; i++)
        {
            Assert.Equal(first[i].PredictedLabel, second[i].PredictedLabel);
            Assert.Equal(first[i].Score, second[i].Score);
            Assert.Equal(first[i].PredictedBoundingBoxes, second[i].PredictedBoundingBoxes);
        }

        var engine = _trained.Ml.Model.CreatePredictionEngine<DetectionRecord, DetectionOutput>(_trained.Model);
        for (int i = 0; i < 3; i++)
        {
            var single = engine.Predict(_trained.Rows[i]);
            Assert.Equal(first[i].PredictedLabel, single.PredictedLabel);
            Assert.Equal(first[i].Score, single.Score);
            Assert.Equal(first[i].PredictedBoundingBoxes, single.PredictedBoundingBoxes);
        }
    }

    [Fact]
    public void ScoresManyRowsInOnePass()
    {
        var many = Enumerable.Range(0, 5).SelectMany(_ => _trained.Rows).ToList();
        var outputs = Score(_trained.Ml.Data.LoadFromEnumerable(many));
        Assert.Equal(40, outputs.Count);
        Assert.Equal(outputs[0].Score, outputs[8].Score);
    }

    [Fact]
    public void BoxesComeBackInTheOriginalImagesPixels()
    {
        // the same picture at twice the size (and so letterboxed with scale 1/2) must give boxes twice as large
        string source = Path.Combine(_trained.Directory, _trained.Rows[0].ImagePath);
        string big = Path.Combine(_trained.Directory, "big-0.png");
        using (var bitmap = SKBitmap.Decode(source))
        using (var resized = bitmap.Resize(new SKImageInfo(256, 256), new SKSamplingOptions(SKCubicResampler.Mitchell)))
        using (var image = SKImage.FromBitmap(resized))
        using (var png = image.Encode(SKEncodedImageFormat.Png, 100))
        using (var file = File.Create(big))
            png.SaveTo(file);
        var rows = new[] { _trained.Rows[0], new DetectionRecord { ImagePath = "big-0.png", Label = _trained.Rows[0].Label, BoundingBoxes = _trained.Rows[0].BoundingBoxes.Select(v => v * 2).ToArray() } };
        var outputs = Score(_trained.Ml.Data.LoadFromEnumerable(rows));
        Assert.Equal(outputs[0].PredictedLabel[0], outputs[1].PredictedLabel[0]);
        for (int c = 0; c < 4; c++)
            Assert.InRange(outputs[1].PredictedBoundingBoxes[c], 2 * outputs[0].PredictedBoundingBoxes[c] - 6, 2 * outputs[0].PredictedBoundingBoxes[c] + 6);
    }

    [Fact]
    public void EstimatorOutputSchemaAddsTheThreeColumns()
    {
        var pipeline = _trained.Ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(_trained.Ml.Transforms.LoadImages("Image", _trained.Directory, nameof(DetectionRecord.ImagePath)))
            .Append(_trained.Ml.MulticlassClassification.Trainers.RetinaNet(_trained.Options));
        // SchemaShape.Create(DataViewSchema) is internal to ML.NET; its estimators call it, tests reach it by reflection
        var create = typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        var shape = pipeline.GetOutputSchema((SchemaShape)create.Invoke(null, new object[] { _trained.Data.Schema })!);
        var label = shape.Single(c => c.Name == "PredictedLabel");
        Assert.Equal(SchemaShape.Column.VectorKind.VariableVector, label.Kind);
        Assert.True(label.IsKey);
        Assert.Contains(label.Annotations, a => a.Name == "KeyValues");
        foreach (var name in new[] { "Score", "PredictedBoundingBoxes" })
        {
            var column = shape.Single(c => c.Name == name);
            Assert.Equal(SchemaShape.Column.VectorKind.VariableVector, column.Kind);
            Assert.Equal(NumberDataViewType.Single, column.ItemType);
        }
    }
}

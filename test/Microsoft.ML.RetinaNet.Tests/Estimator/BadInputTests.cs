using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Datasets;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests.Estimator;

public sealed class KeyRow
{
    public string ImagePath { get; set; } = "";
    [KeyType(3)] public uint[] Label { get; set; } = Array.Empty<uint>();
    public float[] BoundingBoxes { get; set; } = Array.Empty<float>();
}

public sealed class FloatLabelRow
{
    public string ImagePath { get; set; } = "";
    public float[] Label { get; set; } = Array.Empty<float>();
    public float[] BoundingBoxes { get; set; } = Array.Empty<float>();
}

/// <summary>Every kind of bad input is refused before the first training step, with the row, column or option named.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-bad-").FullName;
    private readonly List<DetectionRecord> _good;
    private readonly MLContext _ml = new(seed: 1);
    private readonly List<string> _log = new();

    public BadInputTests()
    {
        _good = SyntheticShapes.Write(_dir, 3, 64, 48, seed: 11, maxObjects: 2);
        _ml.Log += (_, e) => { if (e.Source.StartsWith(nameof(RetinaNetTrainer), StringComparison.Ordinal)) lock (_log) _log.Add(e.RawMessage); };
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static RetinaNetTrainer.Options Tiny() => new() { Depth = 18, ImageSize = 64, BatchSize = 2, Epochs = 1, WarmupSteps = 0 };

    private Exception FitFails(IEnumerable<DetectionRecord> rows, RetinaNetTrainer.Options? options = null)
    {
        var pipeline = _ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(_ml.Transforms.LoadImages("Image", _dir, nameof(DetectionRecord.ImagePath)))
            .Append(_ml.MulticlassClassification.Trainers.RetinaNet(options ?? Tiny()));
        var error = Record.Exception(() => pipeline.Fit(_ml.Data.LoadFromEnumerable(rows)));
        Assert.NotNull(error);
        Assert.DoesNotContain(_log, m => m.StartsWith("epoch", StringComparison.Ordinal)); // no training step ran
        return error!;
    }

    private List<DetectionRecord> WithRow1(Func<DetectionRecord, DetectionRecord> change) =>
        _good.Select((r, i) => i == 1 ? change(r) : r).ToList();

    [Fact]
    public void LabelAndBoxCountsThatDisagreeNameTheRow()
    {
        var error = FitFails(WithRow1(r => new DetectionRecord { ImagePath = r.ImagePath, Label = r.Label, BoundingBoxes = r.BoundingBoxes.Concat(new float[] { 1, 2, 3, 4 }).ToArray() }));
        Assert.Contains($"row 1 ('{_good[1].ImagePath}'):", error.Message);
        Assert.Contains("labels in 'Label' but", error.Message);
    }

    [Fact]
    public void AnInvertedBoxIsQuoted()
    {
        var error = FitFails(WithRow1(r => new DetectionRecord { ImagePath = r.ImagePath, Label = new[] { "square" }, BoundingBoxes = new float[] { 30, 10, 20, 40 } }));
        Assert.Contains($"row 1 ('{_good[1].ImagePath}'): box 0 [30, 10, 20, 40] has x1 <= x0 or y1 <= y0", error.Message);
    }

    [Fact]
    public void XywhBoxesAreRecognised()
    {
        // x=20, y=10, w=15, h=12 given as if it were x0 y0 x1 y1
        var error = FitFails(WithRow1(r => new DetectionRecord { ImagePath = r.ImagePath, Label = new[] { "square" }, BoundingBoxes = new float[] { 20, 10, 15, 12 } }));
        Assert.Contains("looks like x, y, width, height", error.Message);
    }

    [Fact]
    public void NonFiniteCoordinatesAreRefused()
    {
        var error = FitFails(WithRow1(r => new DetectionRecord { ImagePath = r.ImagePath, Label = new[] { "disc" }, BoundingBoxes = new[] { 1f, float.NaN, 10f, 10f } }));
        Assert.Contains($"row 1 ('{_good[1].ImagePath}'): box 0 [1, NaN, 10, 10] has a coordinate that is not a finite number", error.Message);
    }

    [Fact]
    public void ABoxEntirelyOutsideTheImageIsRefused()
    {
        var error = FitFails(WithRow1(r => new DetectionRecord { ImagePath = r.ImagePath, Label = new[] { "disc" }, BoundingBoxes = new float[] { 70, 5, 90, 20 } }));
        Assert.Contains("lies entirely outside the 64×48 image", error.Message);
    }

    [Fact]
    public void ABoxPartlyOutsideIsClippedWithAWarning()
    {
        var rows = WithRow1(r => new DetectionRecord { ImagePath = r.ImagePath, Label = new[] { "disc" }, BoundingBoxes = new float[] { 50, 30, 80, 60 } });
        var pipeline = _ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(_ml.Transforms.LoadImages("Image", _dir, nameof(DetectionRecord.ImagePath)))
            .Append(_ml.MulticlassClassification.Trainers.RetinaNet(Tiny()));
        using var model = (IDisposable)pipeline.Fit(_ml.Data.LoadFromEnumerable(rows)).LastTransformer;
        Assert.Contains(_log, m => m == "1 box(es) reached outside their image and were clipped to it.");
    }

    [Fact]
    public void MissingAndOutOfRangeKeysAreRefused()
    {
        var rows = new[]
        {
            new KeyRow { ImagePath = _good[0].ImagePath, Label = new uint[] { 0 }, BoundingBoxes = new float[] { 1, 1, 10, 10 } },
            new KeyRow { ImagePath = _good[1].ImagePath, Label = new uint[] { 4 }, BoundingBoxes = new float[] { 1, 1, 10, 10 } },
        };
        var pipeline = _ml.Transforms.LoadImages("Image", _dir, nameof(KeyRow.ImagePath)).Append(_ml.MulticlassClassification.Trainers.RetinaNet(Tiny()));
        var error = Assert.Throws<InvalidDataException>(() => pipeline.Fit(_ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains($"row 0 ('{_good[0].ImagePath}'): object 0: the label is missing (key 0)", error.Message);
        Assert.Contains($"row 1 ('{_good[1].ImagePath}'): object 0: label key 4 is outside the key range 1..3", error.Message);
    }

    [Fact]
    public void AWrongColumnTypeNamesColumnExpectedAndActual()
    {
        var rows = _good.Select(r => new FloatLabelRow { ImagePath = r.ImagePath, Label = r.Label.Select(_ => 1f).ToArray(), BoundingBoxes = r.BoundingBoxes });
        var pipeline = _ml.Transforms.LoadImages("Image", _dir, nameof(FloatLabelRow.ImagePath)).Append(_ml.MulticlassClassification.Trainers.RetinaNet(Tiny()));
        var error = Assert.Throws<ArgumentException>(() => pipeline.Fit(_ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("Column 'Label' of the training data must be a vector of UInt32 keys", error.Message);
        Assert.Contains("but is Vector<Single>", error.Message);
    }

    [Fact]
    public void AMissingColumnListsTheColumnsThere()
    {
        var options = Tiny();
        options.BoundingBoxColumnName = "Boxes";
        var error = FitFails(_good, options);
        Assert.Contains("has no column 'Boxes'", error.Message);
        Assert.Contains("BoundingBoxes", error.Message);
    }

    [Fact]
    public void AnEmptyDatasetIsRefused()
    {
        var error = FitFails(Array.Empty<DetectionRecord>());
        Assert.Contains("has no rows", error.Message);
    }

    [Fact]
    public void AValidationSetWithOtherClassesIsRefused()
    {
        var validationRows = new[] { new DetectionRecord { ImagePath = _good[0].ImagePath, Label = new[] { "bar", "zebra" }, BoundingBoxes = new float[] { 1, 1, 10, 10, 20, 20, 30, 30 } } };
        var validation = _ml.Transforms.Conversion.MapValueToKey("Label").Append(_ml.Transforms.LoadImages("Image", _dir, nameof(DetectionRecord.ImagePath)))
            .Fit(_ml.Data.LoadFromEnumerable(validationRows)).Transform(_ml.Data.LoadFromEnumerable(validationRows));
        var options = Tiny();
        options.ValidationSet = validation;
        var error = FitFails(_good, options);
        Assert.Contains("validation set's label keys (bar, zebra) differ from the training data's", error.Message);
    }

    [Theory]
    [InlineData("BatchSize", 0)]
    [InlineData("ImageSize", 100)]
    [InlineData("Epochs", 0)]
    public void OptionsOutOfRangeNameTheOption(string option, int value)
    {
        var options = Tiny();
        typeof(RetinaNetTrainer.Options).GetProperty(option)!.SetValue(options, value);
        var error = Assert.IsType<ArgumentOutOfRangeException>(FitFails(_good, options));
        Assert.Contains($"RetinaNet option {option} is {value}", error.Message);
    }

    [Fact]
    public void AnchorStridesThatMissThePyramidAreRefused()
    {
        // a stride must divide its level's feature stride (finer strides put m × m centres in a cell); 24 does not divide 32
        var options = Tiny();
        options.Anchors = new AnchorOptions { Strides = new[] { 8, 16, 24, 64, 128 } };
        var error = FitFails(_good, options);
        Assert.Contains("Strides[2] (P5) is 24; it must divide the level's feature stride 32", error.Message);
    }

    /// <summary>The good rows, plus a file that is not an image (row 3) and a row whose box is inverted (row 4).</summary>
    private List<DetectionRecord> WithACorruptImageAndABadRow()
    {
        File.WriteAllBytes(Path.Combine(_dir, "corrupt.png"), new byte[] { 0x89, 0x50, 0x4E, 0x47, 1, 2, 3 });
        var rows = _good.ToList();
        rows.Add(new DetectionRecord { ImagePath = "corrupt.png", Label = new[] { _good[0].Label[0] }, BoundingBoxes = new float[] { 1, 1, 10, 10 } });
        rows.Add(new DetectionRecord { ImagePath = _good[0].ImagePath, Label = new[] { _good[0].Label[0] }, BoundingBoxes = new float[] { 30, 1, 10, 10 } });
        return rows;
    }

    [Fact]
    public void ACorruptImageStopsTrainingNamingTheFile()
    {
        var error = FitFails(WithACorruptImageAndABadRow());
        Assert.Contains("row 3 ('corrupt.png'): the image in 'Image' could not be read", error.Message);
        Assert.Contains($"row 4 ('{_good[0].ImagePath}'): box 0 [30, 1, 10, 10] has x1 <= x0", error.Message);
    }

    [Fact]
    public void SkipInvalidRowsTrainsOnTheRestAndReportsTheSkippedRows()
    {
        var options = Tiny();
        options.SkipInvalidRows = true;
        var pipeline = _ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(_ml.Transforms.LoadImages("Image", _dir, nameof(DetectionRecord.ImagePath)))
            .Append(_ml.MulticlassClassification.Trainers.RetinaNet(options));
        using var model = (IDisposable)pipeline.Fit(_ml.Data.LoadFromEnumerable(WithACorruptImageAndABadRow())).LastTransformer;
        var warnings = _log.Where(m => m.StartsWith("SkipInvalidRows: 2 row(s) of the training data were skipped", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, warnings.Count); // before the first step and again at the end
        Assert.Contains($"(row 3 ('corrupt.png'), row 4 ('{_good[0].ImagePath}'))", warnings[0]);
        Assert.Contains("could not be read", warnings[0]);
        Assert.Contains(_log, m => m.StartsWith("training on 3 images", StringComparison.Ordinal));
        Assert.Contains(_log, m => m.StartsWith("epoch 1/1 done", StringComparison.Ordinal));
    }

    [Fact]
    public void SkipInvalidRowsStillRefusesADatasetWithNoValidRow()
    {
        var options = Tiny();
        options.SkipInvalidRows = true;
        File.WriteAllBytes(Path.Combine(_dir, "corrupt.png"), new byte[] { 1, 2, 3 });
        var error = FitFails(new[] { new DetectionRecord { ImagePath = "corrupt.png", Label = new[] { "a" }, BoundingBoxes = new float[] { 1, 1, 10, 10 } } }, options);
        Assert.Contains("Every one of the 1 rows of the training data is invalid", error.Message);
    }
}

using Microsoft.ML.RetinaNet.AnchorTuning;
using Microsoft.ML.RetinaNet.Datasets;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests.AnchorTuning;

public sealed class AnchorTuningPipelineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-tune-").FullName;
    private readonly MLContext _ml = new(seed: 1);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private IDataView Data(int count, int width, int height) => Data(SyntheticShapes.Write(_dir, count, width, height, seed: 7));

    private IDataView Data(List<DetectionRecord> rows)
    {
        var raw = _ml.Data.LoadFromEnumerable(rows);
        return _ml.Transforms.Conversion.MapValueToKey("Label").Append(_ml.Transforms.LoadImages("Image", _dir, nameof(DetectionRecord.ImagePath)))
            .Fit(raw).Transform(raw);
    }

    [Fact]
    public void TunesOnAnIDataViewWithBoxesLetterboxedLikeTraining()
    {
        // 256×128 images at ImageSize 128: content 128×64 centred at y = 32 (ML.NET's IsoPad), so x/2 and y/2 + 32
        var rows = SyntheticShapes.Write(_dir, 6, 256, 128, seed: 7);
        var result = AnchorTuner.Tune(Data(rows), new AnchorTuningOptions { ImageSize = 128, Generations = 5 });
        var raw = rows.SelectMany(r => r.BoundingBoxes).ToArray();
        Assert.Equal(raw.Select((v, i) => i % 2 == 0 ? v / 2 : v / 2 + 32), result.Boxes.Boxes);
        Assert.Equal(SyntheticShapes.Classes.OrderBy(c => c), result.Boxes.ClassNames.OrderBy(c => c));
        Assert.True(result.Coverage.CoveredFraction >= result.BaseCoverage.CoveredFraction);
    }

    [Fact]
    public void TheTrainerTunesAnchorsBeforeTheFirstStepAndKeepsThem()
    {
        var log = new List<string>();
        _ml.Log += (_, e) => { if (e.Source.StartsWith(nameof(RetinaNetTrainer), StringComparison.Ordinal)) lock (log) log.Add(e.RawMessage); };
        var options = new RetinaNetTrainer.Options { Depth = 18, ImageSize = 64, BatchSize = 2, Epochs = 1, TuneAnchors = true };
        using var model = _ml.MulticlassClassification.Trainers.RetinaNet(options).Fit(Data(4, 64, 64));
        int report = log.FindIndex(m => m.StartsWith("anchor tuning:", StringComparison.Ordinal));
        int firstStep = log.FindIndex(m => m.StartsWith("epoch 1/1 step", StringComparison.Ordinal));
        Assert.InRange(report, 0, firstStep - 1);
        Assert.Contains("### Closest base size per label", log[report]);
        Assert.NotEqual(new AnchorOptions().Ratios, model.Anchors.Ratios);
        Assert.Equal(9, model.Anchors.AnchorsPerLocation);
        Assert.False(options.Anchors.Ratios.SequenceEqual(model.Anchors.Ratios)); // the caller's options are not changed
    }
}

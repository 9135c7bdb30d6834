using Microsoft.ML.RetinaNet.AnchorTuning;
using Microsoft.ML.RetinaNet.Datasets;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.RetinaNet.Tests.AnchorTuning;

public class AnchorTunerTests
{
    private readonly ITestOutputHelper _output;

    public AnchorTunerTests(ITestOutputHelper output) => _output = output;

    private static readonly float[] KerasSizes = { 16, 32, 64, 128, 256 };
    private static AnchorOptions KerasBase => new() { Sizes = KerasSizes, Strides = new[] { 8, 16, 32, 64, 128 } };

    /// <summary>Two boxes per label whose heights and widths average to the table's means (±10 pixels, ±10 %).</summary>
    private static BoxSet TableBoxes()
    {
        var means = new (string Label, float H, float W)[] { ("person", 346, 209), ("pole", 90, 9), ("ski", 20, 310), ("ski_pole", 164, 107) };
        var boxes = new List<float>();
        var labels = new List<int>();
        for (int k = 0; k < means.Length; k++)
            foreach (float d in new[] { -0.1f, 0.1f })
            {
                float h = means[k].H * (1 + d), w = means[k].W * (1 - d);
                boxes.AddRange(new[] { 10f, 10f, 10 + w, 10 + h });
                labels.Add(k);
            }
        return new BoxSet(boxes.ToArray(), labels.ToArray(), means.Select(m => m.Label).ToArray());
    }

    [Fact]
    public void ClosestBaseMethodReproducesTheTable()
    {
        var stats = LabelBoxStatistics.Compute(TableBoxes(), BoxStatistic.Mean);
        var rows = ClosestBaseMethod.Rows(stats, KerasSizes);
        var expected = new (string, double Ratio, float Base, double Scale)[]
        {
            ("person", 346.0 / 209, 256, 0.81640625), ("pole", 10, 16, 0.5625), ("ski", 20.0 / 310, 256, 1.2109375), ("ski_pole", 164.0 / 107, 128, 0.8359375),
        };
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Item1, rows[i].Label);
            Assert.Equal(expected[i].Ratio, rows[i].Ratio, 4);
            Assert.Equal(expected[i].Base, rows[i].BaseSize);
            Assert.Equal(expected[i].Scale, rows[i].Scale, 4);
        }
        string table = ClosestBaseMethod.LabelTable(rows);
        _output.WriteLine(table);
        Assert.Contains("| person | 2 | 346 | 209 | 1.65 | 256 | 0.81640625 |", table);
        Assert.Contains("| pole | 2 | 90 | 9 | 10.00 | 16 | 0.5625 |", table);
        Assert.Contains("| ski | 2 | 20 | 310 | 0.06 | 256 | 1.2109375 |", table);
        Assert.Contains("| ski_pole | 2 | 164 | 107 | 1.53 | 128 | 0.8359375 |", table);
        string widths = ClosestBaseMethod.WidthTable(rows, KerasSizes);
        _output.WriteLine(widths);
        Assert.Contains("| person | 13.06 | 26.13 | 52.25 | 104.5 | 209 |", widths);
        Assert.Contains("| pole | 9 | 18 | 36 | 72 | 144 |", widths);

        var anchors = ClosestBaseMethod.Anchors(rows, KerasBase);
        Assert.Equal(new[] { 0.5625f, 0.81640625f, 0.8359375f, 1.2109375f }, anchors.Scales);
        Assert.Equal(4, anchors.Ratios.Length);
    }

    [Fact]
    public void MedianPercentileAndAFixedBaseChangeTheStatistic()
    {
        var boxes = new BoxSet(new float[] { 0, 0, 10, 10, 0, 0, 20, 20, 0, 0, 90, 90 }, new[] { 0, 0, 0 }, new[] { "x" });
        Assert.Equal(40, LabelBoxStatistics.Compute(boxes, BoxStatistic.Mean)[0].Width, 10);
        Assert.Equal(20, LabelBoxStatistics.Compute(boxes, BoxStatistic.Median)[0].Width, 10);
        Assert.Equal(55, LabelBoxStatistics.Compute(boxes, BoxStatistic.Percentile, 75)[0].Width, 10); // 20 + 0.5 × 70
        var fixedRow = ClosestBaseMethod.Rows(LabelBoxStatistics.Compute(boxes, BoxStatistic.Mean), KerasSizes, fixedBaseSize: 64)[0];
        Assert.Equal(64, fixedRow.BaseSize);
        Assert.Equal(40.0 / 64, fixedRow.Scale, 12);
    }

    [Fact]
    public void TunedAnchorsCoverTheSkiSceneWhereTheDefaultsDoNot()
    {
        var boxes = SkiSceneBoxes.Sample(2000, 640, seed: 1);
        var result = AnchorTuner.Tune(boxes, new AnchorTuningOptions { ImageSize = 640 });
        _output.WriteLine(result.ToMarkdown());
        Assert.True(result.BaseCoverage.PerClass["pole"] < 0.5, $"defaults cover {result.BaseCoverage.PerClass["pole"]:P0} of poles");
        Assert.True(result.BaseCoverage.PerClass["ski"] < 0.5, $"defaults cover {result.BaseCoverage.PerClass["ski"]:P0} of skis");
        Assert.True(result.Coverage.CoveredFraction >= 0.95, $"tuned anchors cover {result.Coverage.CoveredFraction:P1}");
        Assert.Equal(9, result.Anchors.AnchorsPerLocation);
    }

    [Fact]
    public void TheOptimiserNeverReturnsLessCoverageThanItsStart()
    {
        // squares the defaults already fit: tuning may not make things worse
        var random = new Random(5);
        var boxes = new List<float>();
        for (int i = 0; i < 300; i++)
        {
            float s = 30 + random.NextSingle() * 200, x = random.NextSingle() * (500 - s), y = random.NextSingle() * (500 - s);
            boxes.AddRange(new[] { x, y, x + s, y + s });
        }
        var set = new BoxSet(boxes.ToArray(), new int[300], new[] { "square" });
        var result = AnchorTuner.Tune(set, new AnchorTuningOptions { Generations = 5 });
        Assert.True(result.Coverage.CoveredFraction >= result.BaseCoverage.CoveredFraction);
    }

    [Fact]
    public void BadInputIsRefusedClearly()
    {
        var none = Assert.Throws<ArgumentException>(() => AnchorTuner.Tune(new BoxSet(Array.Empty<float>(), Array.Empty<int>(), new[] { "a" })));
        Assert.Contains("at least one box", none.Message);
        var degenerate = Assert.Throws<ArgumentException>(() => new BoxSet(new float[] { 5, 5, 5, 9 }, new[] { 0 }, new[] { "a" }));
        Assert.Contains("box 0 [5, 5, 5, 9] is degenerate", degenerate.Message);
        var sizes = Assert.Throws<ArgumentException>(() => AnchorTuner.Tune(TableBoxes(), new AnchorTuningOptions { BaseAnchors = new AnchorOptions { Sizes = new float[] { 32, 64, 128 } } }));
        Assert.Contains("Sizes needs 5 values", sizes.Message);
    }

    [Fact]
    public void ThePlotShowsBoxesAndAnchors()
    {
        var result = AnchorTuner.Tune(SkiSceneBoxes.Sample(200, 640, seed: 2), new AnchorTuningOptions { ImageSize = 640, Generations = 3 });
        string path = Path.Combine(Path.GetTempPath(), $"anchors-{Guid.NewGuid():N}.png");
        try
        {
            result.SavePlot(path);
            using var bitmap = SKBitmap.Decode(path);
            Assert.Equal(1000, bitmap.Width);
            Assert.Equal(750, bitmap.Height);
            // the first class colour (blue, 31 119 180) appears where the person boxes are plotted
            int coloured = 0;
            for (int y = 0; y < bitmap.Height; y += 2)
                for (int x = 0; x < bitmap.Width; x += 2)
                {
                    var c = bitmap.GetPixel(x, y);
                    if (c.Blue > 150 && c.Red < 120 && c.Green < 170 && c.Green > 90) coloured++;
                }
            Assert.True(coloured > 20, $"{coloured} blue pixels");
        }
        finally
        {
            File.Delete(path);
        }
    }
}

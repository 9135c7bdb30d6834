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
        // the fitness values positives: the tuned anchors keep at least the defaults' positives per box
        Assert.True(result.Coverage.MeanPositives >= result.BaseCoverage.MeanPositives,
            $"positives per box {result.Coverage.MeanPositives:F1} against the defaults' {result.BaseCoverage.MeanPositives:F1}");
        Assert.Equal(9, result.Anchors.AnchorsPerLocation);
        Assert.Contains("positives per box", result.ToMarkdown());
    }

    [Fact]
    public void AtTheMainJobsSizeTheTunerHalvesP3sStrideForThePoles()
    {
        // 384²: poles are 5.5 px wide, P3's anchor centres 8 px apart; 2×2 centres per P3 cell cost 3.25× the anchors
        var boxes = SkiSceneBoxes.Sample(1000, 384, seed: 1);
        var fixedStrides = AnchorTuner.Tune(boxes, new AnchorTuningOptions { ImageSize = 384, TuneStrides = false, Generations = 20 });
        var tuned = AnchorTuner.Tune(boxes, new AnchorTuningOptions { ImageSize = 384, Generations = 20 });
        _output.WriteLine(tuned.ToMarkdown());
        Assert.Equal(new[] { 8, 16, 32, 64, 128 }, fixedStrides.Anchors.Strides);
        Assert.Equal(new[] { 4, 16, 32, 64, 128 }, tuned.Anchors.Strides);
        Assert.Equal(89_829, tuned.Anchors.AnchorCount(384));
        Assert.True(tuned.Coverage.PerClass["pole"] > fixedStrides.Coverage.PerClass["pole"] + 0.2,
            $"poles covered: {tuned.Coverage.PerClass["pole"]:P0} with tuned strides, {fixedStrides.Coverage.PerClass["pole"]:P0} without");
        Assert.Contains("strides [4, 16, 32, 64, 128]", tuned.ToMarkdown());
        Assert.Contains("| 89,829 |", tuned.ToMarkdown());

        // the price is the user's to set: a doubling of the anchors must buy more, or the budget forbids it
        var dear = AnchorTuner.Tune(boxes, new AnchorTuningOptions { ImageSize = 384, Generations = 5, MinGainPerDoubling = 1 });
        Assert.Equal(new[] { 8, 16, 32, 64, 128 }, dear.Anchors.Strides);
        var tight = AnchorTuner.Tune(boxes, new AnchorTuningOptions { ImageSize = 384, Generations = 5, MaxAnchorFactor = 2 });
        Assert.Equal(32, tight.Anchors.Strides[2]); // P3 (3.25×) is over a 2× budget; P4 halved alone is 1.56×
        Assert.True(tight.Anchors.AnchorCount(384) <= 2 * 27_621);
    }

    [Fact]
    public void TheGreedyStrideChoiceFollowsFitnessPerDoubling()
    {
        // a fitness that pays 0.05 for P3 at 4 and nothing else: chosen; at 2 (another 3.9× the anchors) it pays 0.01 more: not
        var options = new AnchorTuningOptions { ImageSize = 512, MaxAnchorFactor = 100 };
        double Fitness(AnchorOptions a) => a.Strides[0] switch { 8 => 1.0, 4 => 1.05, _ => 1.06 };
        var chosen = AnchorOptimizer.ChooseStrides(new AnchorOptions(), 1.0, options, Fitness);
        Assert.Equal(new[] { 4, 16, 32, 64, 128 }, chosen.Strides);
        // 0.05 over log2(196 560 / 49 104) = 2.0 doublings is 0.025 per doubling: refused at 0.03
        options.MinGainPerDoubling = 0.03;
        Assert.Equal(new[] { 8, 16, 32, 64, 128 }, AnchorOptimizer.ChooseStrides(new AnchorOptions(), 1.0, options, Fitness).Strides);
    }

    [Fact]
    public void TheFitnessIsTheHandComputedOne()
    {
        // class a: boxes 0 and 1, class b: box 2. Box 0 is one default anchor (IoU 1), box 1 a 4×40 pole no anchor covers,
        // box 2 a 64×64 square on the lattice.
        var boxes = new BoxSet(new float[] { 80, 96, 112, 128, 300, 300, 304, 340, 200, 200, 264, 264 }, new[] { 0, 0, 1 }, new[] { "a", "b" });
        var options = new AnchorTuningOptions { ImageSize = 512 };
        var coverage = AnchorCoverage.Compute(new AnchorOptions(), boxes, 512);
        _output.WriteLine($"best IoU {string.Join(", ", coverage.BestIou)}; positives {string.Join(", ", coverage.Positives)}");
        Assert.Equal(1.0, coverage.BestIou[0], 12);
        Assert.True(coverage.BestIou[1] < 0.5);
        Assert.Equal(0, coverage.Positives[1]);
        double positivesA = (Math.Min(coverage.Positives[0], 9) / 9.0 + 0) / 2, positivesB = Math.Min(coverage.Positives[2], 9) / 9.0;
        double expected = ((0.5 + 0.5 * positivesA) + (1.0 + 0.5 * positivesB)) / 2 + 0.01 * coverage.MeanBestIou;
        Assert.Equal(expected, AnchorFitness.Of(coverage, boxes, options), 12);
        Assert.Equal(coverage.Positives[0] / 2.0, coverage.PerClassPositives["a"], 12);
    }

    [Fact]
    public void TheOptimiserNeverReturnsALowerFitnessThanItsStart()
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
        var options = new AnchorTuningOptions { Generations = 5 };
        var result = AnchorTuner.Tune(set, options);
        Assert.True(AnchorFitness.Of(result.Coverage, set, options) >= AnchorFitness.Of(result.BaseCoverage, set, options));
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

using System.Diagnostics;
using Microsoft.ML.RetinaNet.AnchorTuning;
using Microsoft.ML.RetinaNet.Detection;
using Microsoft.ML.RetinaNet.Modeling;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Tests.AnchorTuning;

public class AnchorCoverageTests
{
    private readonly ITestOutputHelper _output;

    public AnchorCoverageTests(ITestOutputHelper output) => _output = output;

    internal static BoxSet RandomBoxes(int n, int canvas, int seed, double minSize = 4, double maxSize = 300)
    {
        var random = new Random(seed);
        var boxes = new float[4 * n];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            double w = minSize * Math.Pow(maxSize / minSize, random.NextDouble()), h = w * Math.Exp(random.NextDouble() * 4 - 2);
            w = Math.Min(w, canvas - 1); h = Math.Min(Math.Max(h, 2), canvas - 1);
            double x = random.NextDouble() * (canvas - w), y = random.NextDouble() * (canvas - h);
            boxes[4 * i] = (float)x; boxes[4 * i + 1] = (float)y; boxes[4 * i + 2] = (float)(x + w); boxes[4 * i + 3] = (float)(y + h);
            labels[i] = i % 2;
        }
        return new BoxSet(boxes, labels, new[] { "a", "b" });
    }

    public static TheoryData<string> AnchorSets => new() { "default", "custom", "finer strides" };

    private static AnchorOptions Anchors(string which) => which switch
    {
        "default" => new AnchorOptions(),
        "custom" => new AnchorOptions
        {
            Sizes = new float[] { 16, 32, 64, 128, 256 }, Scales = new[] { 0.5625f, 1.21f }, Ratios = new[] { 0.06f, 1.6f, 10f },
                RoundSizesDown = false,
        },
        _ => new AnchorOptions
        {
            Sizes = new float[] { 16, 32, 64, 128, 256 }, Strides = new[] { 4, 8, 32, 32, 32 }, Scales = new[] { 0.5625f, 1.21f },
            Ratios = new[] { 0.06f, 1.6f, 10f }, RoundSizesDown = false,
        },
    };

    [Theory]
    [MemberData(nameof(AnchorSets))]
    public void LatticeSolutionEqualsTheFullIouMatrix(string which)
    {
        using var scope = NewDisposeScope();
        const int canvas = 256;
        var anchors = Anchors(which);
        var boxes = RandomBoxes(400, canvas, seed: 2);
        var coverage = AnchorCoverage.Compute(anchors, boxes, canvas);

        using var generator = new AnchorGenerator(anchors);
        var all = generator.Generate(NetworkConfig.LevelSizes(canvas, canvas), (canvas, canvas), CPU).to(ScalarType.Float64);
        var iou = BoxOps.Iou(tensor(boxes.Boxes, new long[] { boxes.Count, 4 }).to(ScalarType.Float64), all); // (N, A)
        var best = iou.max(1).values.data<double>().ToArray();
        var counts = (iou >= 0.5).sum(1).data<long>().ToArray();
        for (int i = 0; i < boxes.Count; i++)
        {
            Assert.True(Math.Abs(best[i] - coverage.BestIou[i]) < 1e-9, $"box {i}: best IoU {coverage.BestIou[i]} vs {best[i]}");
            Assert.True(counts[i] == coverage.Positives[i], $"box {i}: {coverage.Positives[i]} positives vs {counts[i]}");
        }
        Assert.Equal(best.Count(b => b >= 0.5) / 400.0, coverage.CoveredFraction, 12);
        Assert.Equal(best.Count(b => b >= 0.4) / 400.0, coverage.CoveredFractionAt40, 12);
    }

    [Fact]
    public void HundredThousandBoxesTakeWellUnderASecond()
    {
        var boxes = RandomBoxes(100_000, 512, seed: 3);
        AnchorCoverage.Compute(new AnchorOptions(), RandomBoxes(100, 512, 4), 512); // warm-up
        var watch = Stopwatch.StartNew();
        var coverage = AnchorCoverage.Compute(new AnchorOptions(), boxes, 512);
        _output.WriteLine($"{watch.Elapsed.TotalSeconds:F3} s for 100 000 boxes: {coverage}");
        Assert.Equal(100_000, coverage.BestIou.Count);
    }

    [Fact]
    public void ThinPolesAndFlatSkisAreUncoveredByTheDefaults()
    {
        // a 9×90 pole and a 310×20 ski, centred on lattice points; a 64×64 square for contrast
        var boxes = new BoxSet(new float[] { 100, 100, 109, 190, 50, 300, 360, 320, 200, 200, 264, 264 }, new[] { 0, 1, 2 }, new[] { "pole", "ski",
            "square" });
        var coverage = AnchorCoverage.Compute(new AnchorOptions(), boxes, 512);
        Assert.Equal(new[] { "pole", "ski" }, coverage.Uncovered.Select(u => u.ClassName));
        Assert.Equal(1.0, coverage.PerClass["square"]);
    }
}

using Microsoft.ML.RetinaNet.Evaluation;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests.Evaluation;

/// <summary>COCO metrics on cases whose values are worked out by hand (pycocotools' rules: 101-point interpolation, IoU ≥ t matches).</summary>
public class CocoEvaluatorTests
{
    private static readonly string[] Names = { "a", "b", "c" };

    private static float[] Box(float x0, float y0, float x1, float y1) => new[] { x0, y0, x1, y1 };

    [Fact]
    public void PerfectDetectionsScoreOne()
    {
        var e = new CocoEvaluator(3);
        e.Add(Box(0, 0, 50, 50).Concat(Box(100, 100, 300, 300)).ToArray(), new[] { 0, 1 }, null,
              Box(0, 0, 50, 50).Concat(Box(100, 100, 300, 300)).ToArray(), new[] { 0.9f, 0.8f }, new[] { 0, 1 });
        var m = e.Evaluate(Names);
        Assert.Equal(1.0, m.MeanAveragePrecision, 12);
        Assert.Equal(1.0, m.AveragePrecision50, 12);
        Assert.Equal(1.0, m.AveragePrecision75, 12);
        Assert.Equal(-1.0, m.AveragePrecisionSmall);     // no object under 32²
        Assert.Equal(1.0, m.AveragePrecisionMedium, 12); // 50² = 2500
        Assert.Equal(1.0, m.AveragePrecisionLarge, 12);  // 200² = 40 000
        Assert.Equal(1.0, m.AverageRecall1, 12);
        Assert.Equal(1.0, m.PerClassAveragePrecision["a"], 12);
        Assert.Equal(-1.0, m.PerClassAveragePrecision["c"]); // no ground truth: not defined
    }

    [Fact]
    public void AFalsePositiveAboveTheTruePositiveHalvesPrecision()
    {
        // precision after each detection: 0/1, 1/2 -> interpolated 0.5 at every recall point up to 1
        var e = new CocoEvaluator(1);
        e.Add(Box(10, 10, 60, 60), new[] { 0 }, null, Box(200, 200, 250, 250).Concat(Box(10, 10, 60, 60)).ToArray(), new[] { 0.9f, 0.8f }, new[] { 0, 0 });
        Assert.Equal(0.5, e.Evaluate(Names).MeanAveragePrecision, 12);
    }

    [Fact]
    public void AFalsePositiveBelowTheTruePositiveCostsNothing()
    {
        var e = new CocoEvaluator(1);
        e.Add(Box(10, 10, 60, 60), new[] { 0 }, null, Box(10, 10, 60, 60).Concat(Box(200, 200, 250, 250)).ToArray(), new[] { 0.9f, 0.8f }, new[] { 0, 0 });
        Assert.Equal(1.0, e.Evaluate(Names).MeanAveragePrecision, 12);
    }

    [Fact]
    public void ADuplicateIsAFalsePositiveButRecallIsComplete()
    {
        // two detections of one object: the second finds no unmatched ground truth
        var e = new CocoEvaluator(1);
        e.Add(Box(10, 10, 60, 60), new[] { 0 }, null, Box(10, 10, 60, 60).Concat(Box(11, 11, 61, 61)).ToArray(), new[] { 0.7f, 0.9f }, new[] { 0, 0 });
        var m = e.Evaluate(Names);
        // the higher-scored near-duplicate (IoU 2401/2599 = 0.924) takes the object at thresholds 0.50..0.90, the exact box
        // is then a false positive below it: AP 1. At 0.95 the near-duplicate misses and ranks first, the exact box
        // matches second: precision 0, 1/2 -> AP 0.5. Mean over the 10 thresholds: 0.95.
        Assert.Equal((9 * 1.0 + 1 * 0.5) / 10, m.MeanAveragePrecision, 12);
        Assert.Equal(1.0, m.AverageRecall100, 12);
    }

    [Fact]
    public void TiedScoresKeepTheirOrderLikeAStableSort()
    {
        // two objects, two detections with the same score, the wrong one first: precision 0, 1/2 at recall 0, 0.5;
        // interpolated 0.5 for recall points 0..0.5 (51 of 101) and 0 above
        var e = new CocoEvaluator(1);
        e.Add(Box(0, 0, 40, 40).Concat(Box(100, 0, 140, 40)).ToArray(), new[] { 0, 0 }, null,
              Box(300, 300, 340, 340).Concat(Box(0, 0, 40, 40)).ToArray(), new[] { 0.5f, 0.5f }, new[] { 0, 0 });
        Assert.Equal(51 * 0.5 / 101, e.Evaluate(Names).MeanAveragePrecision, 12);
    }

    [Fact]
    public void DetectionsOnAnEmptyImageAreFalsePositives()
    {
        var e = new CocoEvaluator(1);
        e.Add(Box(10, 10, 60, 60), new[] { 0 }, null, Box(10, 10, 60, 60), new[] { 0.9f }, new[] { 0 });
        e.Add(Array.Empty<float>(), Array.Empty<int>(), null, Box(5, 5, 50, 50), new[] { 0.95f }, new[] { 0 });
        e.Add(Array.Empty<float>(), Array.Empty<int>(), null, Array.Empty<float>(), Array.Empty<float>(), Array.Empty<int>());
        Assert.Equal(0.5, e.Evaluate(Names).MeanAveragePrecision, 12);
    }

    [Fact]
    public void AClassNeverPredictedScoresZero()
    {
        var e = new CocoEvaluator(2);
        e.Add(Box(10, 10, 60, 60).Concat(Box(100, 100, 160, 160)).ToArray(), new[] { 0, 1 }, null, Box(10, 10, 60, 60), new[] { 0.9f }, new[] { 0 });
        var m = e.Evaluate(Names);
        Assert.Equal(1.0, m.PerClassAveragePrecision["a"], 12);
        Assert.Equal(0.0, m.PerClassAveragePrecision["b"], 12);
        Assert.Equal(0.5, m.MeanAveragePrecision, 12);
    }

    [Fact]
    public void PerClassAp50CountsOnlyTheFirstThreshold()
    {
        // class a: detection [0,0,60,50] on [0,0,50,50], IoU 0.833: AP50 1, AP@[.50:.95] 7/10 (matches at 0.50..0.80).
        // class b: one object, a false positive above the true positive: 0.5 at every threshold.
        var e = new CocoEvaluator(3);
        e.Add(Box(0, 0, 50, 50).Concat(Box(100, 100, 150, 150)).ToArray(), new[] { 0, 1 }, null,
              Box(0, 0, 60, 50).Concat(Box(300, 300, 350, 350)).Concat(Box(100, 100, 150, 150)).ToArray(), new[] { 0.9f, 0.8f, 0.7f }, new[] { 0, 1, 1 });
        var m = e.Evaluate(Names);
        Assert.Equal(1.0, m.PerClassAveragePrecision50["a"], 12);
        Assert.Equal(0.7, m.PerClassAveragePrecision["a"], 12);
        Assert.Equal(0.5, m.PerClassAveragePrecision50["b"], 12);
        Assert.Equal(0.5, m.PerClassAveragePrecision["b"], 12);
        Assert.Equal(-1.0, m.PerClassAveragePrecision50["c"]);
        Assert.Equal((1.0 + 0.5) / 2, m.AveragePrecision50, 12);
        Assert.Contains("| a | 0.700 | 1.000 |", m.ToMarkdown());
    }

    [Fact]
    public void IouDecidesWhichThresholdsCount()
    {
        // detection [0,0,60,50] on object [0,0,50,50]: IoU 2500/3000 = 0.833 -> a match at 0.50..0.80 (7 of 10 thresholds)
        var e = new CocoEvaluator(1);
        e.Add(Box(0, 0, 50, 50), new[] { 0 }, null, Box(0, 0, 60, 50), new[] { 0.9f }, new[] { 0 });
        var m = e.Evaluate(Names);
        Assert.Equal(0.7, m.MeanAveragePrecision, 12);
        Assert.Equal(1.0, m.AveragePrecision50, 12);
        Assert.Equal(1.0, m.AveragePrecision75, 12);
    }

    [Fact]
    public void RecallCountsOnlyTheTopDetectionsPerImage()
    {
        var e = new CocoEvaluator(1);
        e.Add(Box(0, 0, 40, 40).Concat(Box(100, 0, 140, 40)).ToArray(), new[] { 0, 0 }, null,
              Box(0, 0, 40, 40).Concat(Box(100, 0, 140, 40)).ToArray(), new[] { 0.9f, 0.8f }, new[] { 0, 0 });
        var m = e.Evaluate(Names);
        Assert.Equal(0.5, m.AverageRecall1, 12);
        Assert.Equal(1.0, m.AverageRecall10, 12);
    }

    [Fact]
    public void DetectionsInsideACrowdRegionAreIgnored()
    {
        var e = new CocoEvaluator(1);
        e.Add(Box(0, 0, 40, 40).Concat(Box(100, 100, 300, 300)).ToArray(), new[] { 0, 0 }, new[] { false, true },
              Box(0, 0, 40, 40).Concat(Box(120, 120, 160, 160)).Concat(Box(200, 200, 260, 260)).ToArray(), new[] { 0.5f, 0.9f, 0.8f }, new[] { 0, 0, 0 });
        // the two detections in the crowd box are neither true nor false positives
        Assert.Equal(1.0, e.Evaluate(Names).MeanAveragePrecision, 12);
    }
}

using System.Globalization;
using System.Text;

namespace Microsoft.ML.RetinaNet.Evaluation;

/// <summary>
/// COCO-style detection metrics, the twelve numbers pycocotools' <c>COCOeval.summarize()</c> prints, plus AP per
/// class. A value of −1 means "not defined" (no ground truth in that area range), as in pycocotools.
/// </summary>
public sealed class DetectionMetrics
{
    internal DetectionMetrics(double[] stats, IReadOnlyDictionary<string, double> perClass, IReadOnlyDictionary<string, double> perClass50,
        int images, int groundTruth, int detections)
    {
        MeanAveragePrecision = stats[0];
        AveragePrecision50 = stats[1];
        AveragePrecision75 = stats[2];
        AveragePrecisionSmall = stats[3];
        AveragePrecisionMedium = stats[4];
        AveragePrecisionLarge = stats[5];
        AverageRecall1 = stats[6];
        AverageRecall10 = stats[7];
        AverageRecall100 = stats[8];
        AverageRecallSmall = stats[9];
        AverageRecallMedium = stats[10];
        AverageRecallLarge = stats[11];
        PerClassAveragePrecision = perClass;
        PerClassAveragePrecision50 = perClass50;
        ImageCount = images;
        GroundTruthCount = groundTruth;
        DetectionCount = detections;
    }

    /// <summary>AP averaged over IoU 0.50:0.05:0.95, all areas, 100 detections per image (COCO's headline "mAP").</summary>
    public double MeanAveragePrecision { get; }
    /// <summary>AP at IoU 0.50 (Pascal VOC's metric, 101-point interpolation).</summary>
    public double AveragePrecision50 { get; }
    /// <summary>AP at IoU 0.75.</summary>
    public double AveragePrecision75 { get; }
    /// <summary>AP for small objects: area ≤ 32² (pycocotools' bounds are inclusive: exactly 32² is small and medium).</summary>
    public double AveragePrecisionSmall { get; }
    /// <summary>AP for medium objects: 32² ≤ area ≤ 96².</summary>
    public double AveragePrecisionMedium { get; }
    /// <summary>AP for large objects: area ≥ 96².</summary>
    public double AveragePrecisionLarge { get; }
    /// <summary>Recall with 1 detection per image, averaged over IoU thresholds.</summary>
    public double AverageRecall1 { get; }
    /// <summary>Recall with 10 detections per image.</summary>
    public double AverageRecall10 { get; }
    /// <summary>Recall with 100 detections per image.</summary>
    public double AverageRecall100 { get; }
    /// <summary>Recall (100 detections) for small objects.</summary>
    public double AverageRecallSmall { get; }
    /// <summary>Recall (100 detections) for medium objects.</summary>
    public double AverageRecallMedium { get; }
    /// <summary>Recall (100 detections) for large objects.</summary>
    public double AverageRecallLarge { get; }
    /// <summary>
    /// The twelve numbers in the order <c>COCOeval.stats</c> holds them: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100,
    /// ARs, ARm, ARl.
    /// </summary>
    public double[] Stats() => new[]
    {
        MeanAveragePrecision, AveragePrecision50, AveragePrecision75, AveragePrecisionSmall, AveragePrecisionMedium, AveragePrecisionLarge,
        AverageRecall1, AverageRecall10, AverageRecall100, AverageRecallSmall, AverageRecallMedium, AverageRecallLarge,
    };

    /// <summary>AP@[.50:.95] of each class by name; −1 for a class without ground truth.</summary>
    public IReadOnlyDictionary<string, double> PerClassAveragePrecision { get; }
    /// <summary>AP at IoU 0.50 of each class by name (all areas, 100 detections); −1 for a class without ground truth.</summary>
    public IReadOnlyDictionary<string, double> PerClassAveragePrecision50 { get; }
    /// <summary>Images evaluated.</summary>
    public int ImageCount { get; }
    /// <summary>Ground-truth objects.</summary>
    public int GroundTruthCount { get; }
    /// <summary>Detections considered.</summary>
    public int DetectionCount { get; }

    /// <summary>The metrics as a Markdown table, in the order pycocotools prints them, then AP@[.50:.95] and AP50 per class.</summary>
    public string ToMarkdown()
    {
        var s = new StringBuilder();
        s.AppendLine("| metric | value |").AppendLine("|---|---|");
        void Row(string name, double v) => s.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {v:0.000} |");
        Row("AP @[IoU=0.50:0.95, area=all, maxDets=100]", MeanAveragePrecision);
        Row("AP @[IoU=0.50, area=all, maxDets=100]", AveragePrecision50);
        Row("AP @[IoU=0.75, area=all, maxDets=100]", AveragePrecision75);
        Row("AP @[IoU=0.50:0.95, area=small, maxDets=100]", AveragePrecisionSmall);
        Row("AP @[IoU=0.50:0.95, area=medium, maxDets=100]", AveragePrecisionMedium);
        Row("AP @[IoU=0.50:0.95, area=large, maxDets=100]", AveragePrecisionLarge);
        Row("AR @[IoU=0.50:0.95, area=all, maxDets=1]", AverageRecall1);
        Row("AR @[IoU=0.50:0.95, area=all, maxDets=10]", AverageRecall10);
        Row("AR @[IoU=0.50:0.95, area=all, maxDets=100]", AverageRecall100);
        Row("AR @[IoU=0.50:0.95, area=small, maxDets=100]", AverageRecallSmall);
        Row("AR @[IoU=0.50:0.95, area=medium, maxDets=100]", AverageRecallMedium);
        Row("AR @[IoU=0.50:0.95, area=large, maxDets=100]", AverageRecallLarge);
        s.AppendLine().AppendLine("| class | AP @[.50:.95] | AP50 |").AppendLine("|---|---|---|");
        static string Cell(double ap) => ap < 0 ? "no ground truth" : ap.ToString("0.000", CultureInfo.InvariantCulture);
        foreach (var (name, ap) in PerClassAveragePrecision)
            s.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {Cell(ap)} | {Cell(PerClassAveragePrecision50.GetValueOrDefault(name, -1))} |");
        return s.ToString();
    }
}

using System.Globalization;
using Microsoft.ML.RetinaNet.Detection;
using Microsoft.ML.RetinaNet.Modeling;

namespace Microsoft.ML.RetinaNet.AnchorTuning;

/// <summary>
/// How well a set of anchors covers a set of boxes at one canvas size: the fraction of boxes whose best anchor IoU reaches
/// 0.5 (they get a positive anchor in training) and 0.4, the mean number of anchors with IoU ≥ 0.5 per box, coverage per
/// class, and the boxes left uncovered.
/// </summary>
public sealed class AnchorCoverage
{
    internal AnchorCoverage(double[] bestIou, int[] positives, BoxSet boxes, double threshold)
    {
        BestIou = bestIou;
        Positives = positives;
        int n = bestIou.Length;
        CoveredFraction = n == 0 ? 0 : bestIou.Count(v => v >= threshold) / (double)n;
        CoveredFractionAt40 = n == 0 ? 0 : bestIou.Count(v => v >= 0.4) / (double)n;
        MeanPositives = n == 0 ? 0 : positives.Average();
        MeanBestIou = n == 0 ? 0 : bestIou.Average();
        var total = new int[boxes.ClassNames.Count];
        var covered = new int[boxes.ClassNames.Count];
        var positiveSum = new long[boxes.ClassNames.Count];
        for (int i = 0; i < n; i++)
        {
            total[boxes.Labels[i]]++;
            positiveSum[boxes.Labels[i]] += positives[i];
            if (bestIou[i] >= threshold) covered[boxes.Labels[i]]++;
        }
        PerClass = boxes.ClassNames.Select((name, k) => (name, total[k] == 0 ? double.NaN : covered[k] / (double)total[k]))
            .ToDictionary(x => x.name, x => x.Item2);
        PerClassPositives = boxes.ClassNames.Select((name, k) => (name, total[k] == 0 ? double.NaN : positiveSum[k] / (double)total[k]))
            .ToDictionary(x => x.name, x => x.Item2);
        Uncovered = Enumerable.Range(0, n).Where(i => bestIou[i] < threshold)
            .Select(i => new UncoveredBox(i, boxes.ClassNames[boxes.Labels[i]], (float)boxes.Width(i), (float)boxes.Height(i), bestIou[i])).ToList();
    }

    /// <summary>Best anchor IoU of each box.</summary>
    public IReadOnlyList<double> BestIou { get; }

    /// <summary>Anchors with IoU ≥ 0.5 for each box.</summary>
    public IReadOnlyList<int> Positives { get; }

    /// <summary>Fraction of boxes with a best anchor IoU ≥ the threshold (0.5 by default).</summary>
    public double CoveredFraction { get; }

    /// <summary>Fraction of boxes with a best anchor IoU ≥ 0.4.</summary>
    public double CoveredFractionAt40 { get; }

    /// <summary>Mean number of anchors with IoU ≥ 0.5 per box.</summary>
    public double MeanPositives { get; }

    /// <summary>Mean best IoU.</summary>
    public double MeanBestIou { get; }

    /// <summary>Covered fraction per class (NaN for a class without boxes).</summary>
    public IReadOnlyDictionary<string, double> PerClass { get; }

    /// <summary>Mean positive anchors (IoU ≥ 0.5) per box of each class (NaN for a class without boxes).</summary>
    public IReadOnlyDictionary<string, double> PerClassPositives { get; }

    /// <summary>The boxes below the threshold.</summary>
    public IReadOnlyList<UncoveredBox> Uncovered { get; }

    /// <summary>One line: covered at 0.5 and 0.4, positives per box.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{CoveredFraction:P1} of boxes covered at IoU 0.5 ({CoveredFractionAt40:P1} at 0.4), {MeanPositives:F2} positive anchors per box, mean "
            + $"best IoU {MeanBestIou:F3}");

    /// <summary>
    /// Coverage of <paramref name="boxes"/> by <paramref name="anchors"/> on a <paramref name="canvasSize"/>² canvas. Uses the
    /// anchor lattice: for one anchor shape the best position is the grid point nearest the box (overlap in x and y are
    /// independent), and the positions with IoU ≥ t form, for each column, an interval of rows solved in closed form.
    /// Exact, and about a microsecond per box and shape.
    /// </summary>
    public static AnchorCoverage Compute(AnchorOptions anchors, BoxSet boxes, int canvasSize, double threshold = 0.5)
        => Compute(anchors, boxes, canvasSize, threshold, countPositives: true);

    internal static AnchorCoverage Compute(AnchorOptions anchors, BoxSet boxes, int canvasSize, double threshold, bool countPositives)
    {
        anchors.Validate();
        var levels = NetworkConfig.LevelSizes(canvasSize, canvasSize);
        // anchors sit where training puts them: torchvision's spacing canvas // feature size (square canvas: one per level)
        var strides = AnchorGenerator.Strides(levels, (canvasSize, canvasSize));
        var shapeList = new List<Shape>();
        for (int l = 0; l < AnchorOptions.LevelCount; l++)
        {
            // m × m centres per cell (finer anchor strides): a lattice m times as dense, spacing / m apart
            int m = anchors.CentresPerCellAxis(l);
            var b = AnchorShapes.BaseAnchors(anchors, l);
            for (int k = 0; k < b.Length; k += 4)
                shapeList.Add(new Shape(b[k], b[k + 1], b[k + 2], b[k + 3], (double)strides[l].X / m, levels[l].Height * m, levels[l].Width * m));
        }
        var shapes = shapeList.ToArray();
        var best = new double[boxes.Count];
        var positives = new int[boxes.Count];
        Parallel.For(0, boxes.Count, i =>
        {
            double x0 = boxes.Boxes[4 * i], y0 = boxes.Boxes[4 * i + 1], x1 = boxes.Boxes[4 * i + 2], y1 = boxes.Boxes[4 * i + 3];
            double bestIou = 0;
            int count = 0;
            foreach (var s in shapes)
            {
                bestIou = Math.Max(bestIou, s.BestIou(x0, y0, x1, y1));
                if (countPositives)
                    count += s.CountAtLeast(x0, y0, x1, y1, 0.5);
            }
            best[i] = bestIou;
            positives[i] = count;
        });
        return new AnchorCoverage(best, positives, boxes, threshold);
    }

    /// <summary>One anchor shape on its level's lattice: (ax0 + j·s, ay0 + i·s, ax1 + j·s, ay1 + i·s).</summary>
    private readonly record struct Shape(double Ax0, double Ay0, double Ax1, double Ay1, double Stride, long Rows, long Columns)
    {
        private double Area => (Ax1 - Ax0) * (Ay1 - Ay0);

        public double BestIou(double x0, double y0, double x1, double y1)
        {
            double ox = BestOverlap(Ax0, Ax1, x0, x1, Columns);
            double oy = BestOverlap(Ay0, Ay1, y0, y1, Rows);
            double inter = ox * oy;
            return inter <= 0 ? 0 : inter / (Area + (x1 - x0) * (y1 - y0) - inter);
        }

        /// <summary>Largest 1-D overlap over lattice positions 0..count−1: at the position nearest the box's centre.</summary>
        private double BestOverlap(double a0, double a1, double b0, double b1, long count)
        {
            double ideal = ((b0 + b1) - (a0 + a1)) / 2 / Stride;
            long lo = Math.Clamp((long)Math.Floor(ideal), 0, count - 1), hi = Math.Clamp(lo + 1, 0, count - 1);
            return Math.Max(Overlap(a0 + lo * Stride, a1 + lo * Stride, b0, b1), Overlap(a0 + hi * Stride, a1 + hi * Stride, b0, b1));
        }

        private static double Overlap(double a0, double a1, double b0, double b1) => Math.Max(0, Math.Min(a1, b1) - Math.Max(a0, b0));

        /// <summary>Lattice positions with IoU ≥ t: inter ≥ t(Aa + Ab)/(1 + t); per column, the rows form an interval.</summary>
        public int CountAtLeast(double x0, double y0, double x1, double y1, double t)
        {
            double boxArea = (x1 - x0) * (y1 - y0);
            if (Math.Min(Area, boxArea) < t * Math.Max(Area, boxArea))
                return 0; // IoU ≤ smaller area / larger area
            double needed = t * (Area + boxArea) / (1 + t);
            double minHeight = Math.Min(Ay1 - Ay0, y1 - y0);
            long jFirst = Math.Max(0, (long)Math.Floor((x0 - Ax1) / Stride) + 1), jLast = Math.Min(Columns - 1,
                (long)Math.Ceiling((x1 - Ax0) / Stride) - 1);
            int count = 0;
            for (long j = jFirst; j <= jLast; j++)
            {
                double ox = Overlap(Ax0 + j * Stride, Ax1 + j * Stride, x0, x1);
                if (ox <= 0) continue;
                double q = needed / ox; // the y overlap this column needs
                if (q > minHeight) continue;
                long iFirst = Math.Max(0, (long)Math.Ceiling((q + y0 - Ay1) / Stride)), iLast = Math.Min(Rows - 1,
                    (long)Math.Floor((y1 - Ay0 - q) / Stride));
                if (iLast >= iFirst) count += (int)(iLast - iFirst + 1);
            }
            return count;
        }
    }
}

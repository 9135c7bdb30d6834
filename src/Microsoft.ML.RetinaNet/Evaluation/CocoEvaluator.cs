namespace Microsoft.ML.RetinaNet.Evaluation;

/// <summary>
/// COCO box evaluation with pycocotools' <c>COCOeval</c> semantics: per image and class, detections sorted by
/// score (stable) and capped at 100, greedily matched to ground truth at IoU thresholds 0.50:0.05:0.95 (crowd
/// boxes may absorb several detections and are ignored), area ranges all/small/medium/large, precision
/// interpolated at 101 recall points, recall at 1/10/100 detections. Areas are box areas (w·h).
/// </summary>
internal sealed class CocoEvaluator
{
    private static readonly double[] IouThresholds = Linspace(0.5, 0.95, 10);
    private static readonly double[] RecallThresholds = Linspace(0.0, 1.0, 101);
    private static readonly int[] MaxDetections = { 1, 10, 100 };
    /// <summary>numpy.spacing(1), which pycocotools adds to the precision denominator.</summary>
    private const double NumpySpacingOfOne = 2.220446049250313e-16;
    private static readonly (double Low, double High)[] AreaRanges = { (0, 1e10), (0, 32 * 32), (32 * 32, 96 * 96), (96 * 96, 1e10) };

    private readonly int _classCount;
    private readonly List<ImageRecord> _images = new();

    public CocoEvaluator(int classCount) => _classCount = classCount;

    private sealed record Box(float X0, float Y0, float X1, float Y1)
    {
        public double Area => (double)(X1 - X0) * (Y1 - Y0);
    }

    private sealed record ImageRecord(Box[] Gt, int[] GtLabels, bool[] GtCrowd, Box[] Dt, float[] DtScores, int[] DtLabels);

    /// <summary>Adds one image: boxes as x0 y0 x1 y1 (4 per object), 0-based labels.</summary>
    public void Add(float[] gtBoxes, int[] gtLabels, bool[]? gtCrowd, float[] dtBoxes, float[] dtScores, int[] dtLabels)
    {
        if (gtBoxes.Length != 4 * gtLabels.Length || dtBoxes.Length != 4 * dtLabels.Length || dtScores.Length != dtLabels.Length)
            throw new ArgumentException("Each object needs one label and 4 box values; each detection one label, one score and 4 box values.");
        foreach (int l in gtLabels.Concat(dtLabels))
            if (l < 0 || l >= _classCount)
                throw new ArgumentOutOfRangeException(nameof(gtLabels), l, $"Labels must be in 0..{_classCount - 1}.");
        _images.Add(new ImageRecord(ToBoxes(gtBoxes), gtLabels, gtCrowd ?? new bool[gtLabels.Length], ToBoxes(dtBoxes), dtScores, dtLabels));
    }

    public int ImageCount => _images.Count;

    /// <summary>Per (image, class, area) evaluation result, pycocotools' evaluateImg with maxDet 100.</summary>
    private sealed class ImageEval
    {
        public required float[] Scores;          // D, sorted
        public required bool[,] Matched;         // T × D
        public required bool[,] DtIgnore;        // T × D
        public required bool[] GtIgnore;         // G
    }

    public DetectionMetrics Evaluate(IReadOnlyList<string> classNames)
    {
        int T = IouThresholds.Length, R = RecallThresholds.Length, K = _classCount, A = AreaRanges.Length, M = MaxDetections.Length;
        var precision = new double[T, R, K, A, M];
        var recall = new double[T, K, A, M];
        Fill(precision, -1);
        Fill(recall, -1);

        for (int k = 0; k < K; k++)
        {
            for (int a = 0; a < A; a++)
            {
                var evals = new List<ImageEval>();
                foreach (var image in _images)
                {
                    var e = EvaluateImage(image, k, AreaRanges[a]);
                    if (e != null) evals.Add(e);
                }
                if (evals.Count == 0) continue;
                for (int m = 0; m < M; m++)
                    Accumulate(evals, MaxDetections[m], precision, recall, k, a, m);
            }
        }

        var stats = new double[12];
        stats[0] = MeanPrecision(precision, null, 0, 2, null);
        stats[1] = MeanPrecision(precision, 0, 0, 2, null);
        stats[2] = MeanPrecision(precision, Array.IndexOf(IouThresholds, 0.75), 0, 2, null);
        stats[3] = MeanPrecision(precision, null, 1, 2, null);
        stats[4] = MeanPrecision(precision, null, 2, 2, null);
        stats[5] = MeanPrecision(precision, null, 3, 2, null);
        stats[6] = MeanRecall(recall, 0, 0);
        stats[7] = MeanRecall(recall, 0, 1);
        stats[8] = MeanRecall(recall, 0, 2);
        stats[9] = MeanRecall(recall, 1, 2);
        stats[10] = MeanRecall(recall, 2, 2);
        stats[11] = MeanRecall(recall, 3, 2);
        var perClass = new Dictionary<string, double>();
        var perClass50 = new Dictionary<string, double>();
        for (int k = 0; k < K; k++)
        {
            string name = k < classNames.Count ? classNames[k] : k.ToString(System.Globalization.CultureInfo.InvariantCulture);
            perClass[name] = MeanPrecision(precision, null, 0, 2, k);
            perClass50[name] = MeanPrecision(precision, 0, 0, 2, k);
        }
        return new DetectionMetrics(stats, perClass, perClass50, _images.Count, _images.Sum(i => i.GtLabels.Length), _images.Sum(i => i.DtLabels.Length));
    }

    private static ImageEval? EvaluateImage(ImageRecord image, int k, (double Low, double High) area)
    {
        var gtIdx = Enumerable.Range(0, image.GtLabels.Length).Where(i => image.GtLabels[i] == k).ToArray();
        var dtIdx = Enumerable.Range(0, image.DtLabels.Length).Where(i => image.DtLabels[i] == k).ToArray();
        if (gtIdx.Length == 0 && dtIdx.Length == 0)
            return null;

        // ground truth: ignored (crowd or outside the area range) last, stable
        var gtIgnoreRaw = gtIdx.Select(i => image.GtCrowd[i] || image.Gt[i].Area < area.Low || image.Gt[i].Area > area.High).ToArray();
        var gtOrder = Enumerable.Range(0, gtIdx.Length).OrderBy(i => gtIgnoreRaw[i] ? 1 : 0).ToArray(); // OrderBy is stable
        var gt = gtOrder.Select(i => image.Gt[gtIdx[i]]).ToArray();
        var crowd = gtOrder.Select(i => image.GtCrowd[gtIdx[i]]).ToArray();
        var gtIgnore = gtOrder.Select(i => gtIgnoreRaw[i]).ToArray();

        // detections: highest score first, stable, at most 100
        var dtOrder = dtIdx.OrderByDescending(i => image.DtScores[i]).Take(MaxDetections[^1]).ToArray();
        var dt = dtOrder.Select(i => image.Dt[i]).ToArray();
        var scores = dtOrder.Select(i => image.DtScores[i]).ToArray();

        int T = IouThresholds.Length, G = gt.Length, D = dt.Length;
        var matched = new bool[T, D];
        var dtIgnore = new bool[T, D];
        if (G > 0 && D > 0)
        {
            var iou = new double[D, G];
            for (int d = 0; d < D; d++)
                for (int g = 0; g < G; g++)
                    iou[d, g] = Iou(dt[d], gt[g], crowd[g]);
            for (int t = 0; t < T; t++)
            {
                var gtMatched = new bool[G];
                for (int d = 0; d < D; d++)
                {
                    double best = Math.Min(IouThresholds[t], 1 - 1e-10);
                    int m = -1;
                    for (int g = 0; g < G; g++)
                    {
                        if (gtMatched[g] && !crowd[g]) continue;
                        if (m > -1 && !gtIgnore[m] && gtIgnore[g]) break;
                        if (iou[d, g] < best) continue;
                        best = iou[d, g];
                        m = g;
                    }
                    if (m == -1) continue;
                    dtIgnore[t, d] = gtIgnore[m];
                    matched[t, d] = true;
                    gtMatched[m] = true;
                }
            }
        }
        // unmatched detections outside the area range are ignored
        for (int d = 0; d < D; d++)
        {
            bool outside = dt[d].Area < area.Low || dt[d].Area > area.High;
            for (int t = 0; t < T; t++)
                if (!matched[t, d] && outside) dtIgnore[t, d] = true;
        }
        return new ImageEval { Scores = scores, Matched = matched, DtIgnore = dtIgnore, GtIgnore = gtIgnore };
    }

    private static void Accumulate(List<ImageEval> evals, int maxDet, double[,,,,] precision, double[,,,] recall, int k, int a, int m)
    {
        var entries = new List<(float Score, int Image, int Det)>();
        for (int i = 0; i < evals.Count; i++)
            for (int d = 0; d < Math.Min(maxDet, evals[i].Scores.Length); d++)
                entries.Add((evals[i].Scores[d], i, d));
        // stable sort by descending score, as numpy's mergesort on −score
        var sorted = entries.Select((e, index) => (e, index)).OrderByDescending(x => x.e.Score).ThenBy(x => x.index).Select(x => x.e).ToArray();
        int npig = evals.Sum(e => e.GtIgnore.Count(ignored => !ignored));
        if (npig == 0) return;
        int nd = sorted.Length;
        for (int t = 0; t < IouThresholds.Length; t++)
        {
            var rc = new double[nd];
            var pr = new double[nd];
            double tp = 0, fp = 0;
            for (int i = 0; i < nd; i++)
            {
                var (_, img, det) = sorted[i];
                bool ignored = evals[img].DtIgnore[t, det];
                bool isMatch = evals[img].Matched[t, det];
                if (isMatch && !ignored) tp++;
                if (!isMatch && !ignored) fp++;
                rc[i] = tp / npig;
                pr[i] = tp / (fp + tp + NumpySpacingOfOne);
            }
            recall[t, k, a, m] = nd > 0 ? rc[nd - 1] : 0;
            for (int i = nd - 1; i > 0; i--)
                if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
            for (int r = 0; r < RecallThresholds.Length; r++)
            {
                int pi = LowerBound(rc, RecallThresholds[r]);
                precision[t, r, k, a, m] = pi < nd ? pr[pi] : 0;
            }
        }
    }

    private static double MeanPrecision(double[,,,,] p, int? t, int a, int m, int? k)
    {
        double sum = 0; int count = 0;
        for (int ti = 0; ti < p.GetLength(0); ti++)
        {
            if (t.HasValue && ti != t.Value) continue;
            for (int r = 0; r < p.GetLength(1); r++)
                for (int ki = 0; ki < p.GetLength(2); ki++)
                {
                    if (k.HasValue && ki != k.Value) continue;
                    double v = p[ti, r, ki, a, m];
                    if (v > -1) { sum += v; count++; }
                }
        }
        return count == 0 ? -1 : sum / count;
    }

    private static double MeanRecall(double[,,,] rec, int a, int m)
    {
        double sum = 0; int count = 0;
        for (int t = 0; t < rec.GetLength(0); t++)
            for (int k = 0; k < rec.GetLength(1); k++)
            {
                double v = rec[t, k, a, m];
                if (v > -1) { sum += v; count++; }
            }
        return count == 0 ? -1 : sum / count;
    }

    /// <summary>pycocotools' box IoU; for a crowd box the union is the detection's own area.</summary>
    private static double Iou(Box d, Box g, bool crowd)
    {
        double w = Math.Min(d.X1, g.X1) - Math.Max(d.X0, g.X0);
        if (w <= 0) return 0;
        double h = Math.Min(d.Y1, g.Y1) - Math.Max(d.Y0, g.Y0);
        if (h <= 0) return 0;
        double inter = w * h;
        double union = crowd ? d.Area : d.Area + g.Area - inter;
        return inter / union;
    }

    /// <summary>numpy.searchsorted(values, x, side='left').</summary>
    private static int LowerBound(double[] values, double x)
    {
        int lo = 0, hi = values.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (values[mid] < x) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>numpy.linspace(start, stop, num): i·step + start, the last value exactly stop.</summary>
    private static double[] Linspace(double start, double stop, int num)
    {
        double step = (stop - start) / (num - 1);
        var values = new double[num];
        for (int i = 0; i < num; i++) values[i] = i * step + start;
        values[num - 1] = stop;
        return values;
    }

    private static Box[] ToBoxes(float[] b) => Enumerable.Range(0, b.Length / 4).Select(i => new Box(b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3])).ToArray();

    private static void Fill(double[,,,,] array, double value)
    {
        foreach (int t in Enumerable.Range(0, array.GetLength(0)))
            for (int r = 0; r < array.GetLength(1); r++)
                for (int k = 0; k < array.GetLength(2); k++)
                    for (int a = 0; a < array.GetLength(3); a++)
                        for (int m = 0; m < array.GetLength(4); m++)
                            array[t, r, k, a, m] = value;
    }

    private static void Fill(double[,,,] array, double value)
    {
        for (int t = 0; t < array.GetLength(0); t++)
            for (int k = 0; k < array.GetLength(1); k++)
                for (int a = 0; a < array.GetLength(2); a++)
                    for (int m = 0; m < array.GetLength(3); m++)
                        array[t, k, a, m] = value;
    }
}


namespace Microsoft.ML.RetinaNet.Evaluation;

/// <summary>One box as COCO stores it (x, y, width, height, in double) with the area that decides small/medium/large.</summary>
internal readonly record struct CocoBox(double X, double Y, double W, double H, double Area)
{
    /// <summary>From corners: width and height are the exact double differences; the area is w·h unless given.</summary>
    public static CocoBox FromCorners(double x0, double y0, double x1, double y1, double? area = null)
    {
        double w = x1 - x0, h = y1 - y0;
        return new CocoBox(x0, y0, w, h, area ?? w * h);
    }

    /// <summary>From a COCO bbox [x, y, w, h]; the area is the annotation's <c>area</c> when it has one, else w·h.</summary>
    public static CocoBox FromBbox(double x, double y, double w, double h, double? area = null) => new(x, y, w, h, area ?? w * h);

    public static CocoBox[] FromCorners(float[] corners, double[]? areas = null) =>
        Enumerable.Range(0, corners.Length / 4).Select(i => FromCorners(corners[4 * i], corners[4 * i + 1], corners[4 * i + 2], corners[4 * i + 3],
            areas is { Length: > 0 } ? areas[i] : null)).ToArray();
}

/// <summary>
/// COCO box evaluation with pycocotools' <c>COCOeval</c> semantics (iouType bbox): images in ascending image id, per image
/// and class ground truth with crowd regions last and detections sorted by score (stable) and capped at 100, greedily
/// matched at IoU thresholds 0.50:0.05:0.95 (a crowd region absorbs any number of detections, with IoU = intersection /
/// detection area, and they are ignored), area ranges all/small/medium/large with inclusive bounds on the ground truth's
/// <c>area</c> (w·h when none is given) and the detection's w·h, precision interpolated at 101 recall points, recall at
/// 1/10/100 detections. Boxes, areas and scores are doubles, as pycocotools reads them.
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
    private readonly Dictionary<long, int> _ids = new();
    private long _nextId;

    public CocoEvaluator(int classCount) => _classCount = classCount;

    private sealed record ImageRecord(long Id, CocoBox[] Gt, int[] GtLabels, bool[] GtCrowd, CocoBox[] Dt, double[] DtScores, int[] DtLabels);

    /// <summary>Adds one image with the next image id (its order): boxes as x0 y0 x1 y1 (4 per object), 0-based labels.</summary>
    public void Add(float[] gtBoxes, int[] gtLabels, bool[]? gtCrowd, float[] dtBoxes, float[] dtScores, int[] dtLabels)
    {
        if (gtBoxes.Length != 4 * gtLabels.Length || dtBoxes.Length != 4 * dtLabels.Length || dtScores.Length != dtLabels.Length)
            throw new ArgumentException("Each object needs one label and 4 box values; each detection one label, one score and 4 box values.");
        Add(_nextId, CocoBox.FromCorners(gtBoxes), gtLabels, gtCrowd, CocoBox.FromCorners(dtBoxes),
            dtScores.Select(v => (double)v).ToArray(), dtLabels);
    }

    /// <summary>Adds the image <paramref name="imageId"/> (images are evaluated in ascending id, as pycocotools does).</summary>
    public void Add(long imageId, CocoBox[] gt, int[] gtLabels, bool[]? gtCrowd, CocoBox[] dt, double[] dtScores, int[] dtLabels)
    {
        if (gt.Length != gtLabels.Length || dt.Length != dtLabels.Length || dtScores.Length != dtLabels.Length || (gtCrowd != null
            && gtCrowd.Length != gtLabels.Length))
            throw new ArgumentException("Each object needs one label (and one crowd flag); each detection one label and one score.");
        foreach (int l in gtLabels.Concat(dtLabels))
            if (l < 0 || l >= _classCount)
                throw new ArgumentOutOfRangeException(nameof(gtLabels), l, $"Labels must be in 0..{_classCount - 1}.");
        if (!_ids.TryAdd(imageId, _images.Count))
            throw new ArgumentException($"Image id {imageId} was given twice; each image needs its own id.", nameof(imageId));
        _images.Add(new ImageRecord(imageId, gt, gtLabels, gtCrowd ?? new bool[gtLabels.Length], dt, dtScores, dtLabels));
        _nextId = Math.Max(_nextId, imageId + 1);
    }

    public int ImageCount => _images.Count;

    /// <summary>Per (image, class, area) evaluation result, pycocotools' evaluateImg with maxDet 100.</summary>
    private sealed class ImageEval
    {
        public required double[] Scores;         // D, sorted
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

        var byId = _images.OrderBy(i => i.Id).ToList(); // pycocotools: sorted(np.unique(imgIds))
        for (int k = 0; k < K; k++)
        {
            for (int a = 0; a < A; a++)
            {
                var evals = new List<ImageEval>();
                foreach (var image in byId)
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
        return new DetectionMetrics(stats, perClass, perClass50, _images.Count, _images.Sum(i => i.GtLabels.Length), _images.Sum(i
            => i.DtLabels.Length));
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
        var entries = new List<(double Score, int Image, int Det)>();
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

    /// <summary>
    /// pycocotools' box IoU from x, y, w, h: the overlap is min(x + w) − max(x) by min(y + h) − max(y); the union is the
    /// two boxes' w·h minus the overlap, or for a crowd region the detection's own w·h.
    /// </summary>
    private static double Iou(CocoBox d, CocoBox g, bool crowd)
    {
        double w = Math.Min(d.X + d.W, g.X + g.W) - Math.Max(d.X, g.X);
        if (w <= 0) return 0;
        double h = Math.Min(d.Y + d.H, g.Y + g.H) - Math.Max(d.Y, g.Y);
        if (h <= 0) return 0;
        double inter = w * h, dArea = d.W * d.H, gArea = g.W * g.H;
        double union = crowd ? dArea : dArea + gArea - inter;
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


namespace Microsoft.ML.RetinaNet.Detection;

/// <summary>
/// Greedy NMS on the CPU over plain arrays, with the same result as <see cref="Nms"/>'s tensor version (torchvision's
/// semantics, IoU in float32 as <see cref="BoxOps.Iou"/> computes it): boxes in decreasing score order (ties by index),
/// each kept unless its IoU with a kept box exceeds the threshold. Only kept boxes that can overlap a candidate are
/// compared: they are filed in a uniform grid whose cells are about one box wide, so a candidate looks at the few kept
/// boxes around it instead of all of them (20 000 boxes: a few milliseconds, where the suppression matrix needs
/// seconds and torchvision's loop tens of milliseconds; BENCHMARKS.md).
/// </summary>
internal static class GreedyNms
{
    private const int MaxCellsPerSide = 256;

    /// <summary>
    /// Indices of the kept boxes among <paramref name="members"/> (indices into <paramref name="boxes"/>, flat x0 y0 x1 y1,
    /// and <paramref name="scores"/>), in decreasing score order. <paramref name="members"/> must be in increasing order.
    /// </summary>
    public static List<int> Run(float[] boxes, float[] scores, IReadOnlyList<int> members, double iouThreshold)
    {
        var order = members.OrderByDescending(i => scores[i]).ToArray(); // stable: ties keep index order
        var kept = new List<int>();
        if (order.Length == 0) return kept;

        float minX = float.MaxValue, minY = float.MaxValue, maxX = float.MinValue, maxY = float.MinValue;
        double sumW = 0, sumH = 0;
        foreach (int i in order)
        {
            minX = Math.Min(minX, boxes[4 * i]); minY = Math.Min(minY, boxes[4 * i + 1]);
            maxX = Math.Max(maxX, boxes[4 * i + 2]); maxY = Math.Max(maxY, boxes[4 * i + 3]);
            sumW += boxes[4 * i + 2] - boxes[4 * i]; sumH += boxes[4 * i + 3] - boxes[4 * i + 1];
        }
        double extentX = Math.Max(maxX - minX, 1e-6), extentY = Math.Max(maxY - minY, 1e-6);
        double cell = Math.Max(Math.Max(sumW, sumH) / order.Length, Math.Max(extentX, extentY) / MaxCellsPerSide);
        if (iouThreshold < 0 || !(cell > 0) || !double.IsFinite(cell) || !double.IsFinite(extentX) || !double.IsFinite(extentY))
            return Quadratic(boxes, order, iouThreshold); // non-finite boxes, or a threshold that suppresses disjoint boxes: compare with every kept box
        int columns = Math.Min(MaxCellsPerSide, (int)(extentX / cell) + 1), rows = Math.Min(MaxCellsPerSide, (int)(extentY / cell) + 1);
        var grid = new List<int>?[columns * rows];
        float threshold = (float)iouThreshold;

        foreach (int i in order)
        {
            var (c0, c1, r0, r1) = Cells(boxes, i, minX, minY, cell, columns, rows);
            bool suppressed = false;
            for (int r = r0; r <= r1 && !suppressed; r++)
                for (int c = c0; c <= c1 && !suppressed; c++)
                {
                    var list = grid[r * columns + c];
                    if (list == null) continue;
                    foreach (int k in list)
                        if (Iou(boxes, k, i) > threshold)
                        {
                            suppressed = true;
                            break;
                        }
                }
            if (suppressed) continue;
            kept.Add(i);
            for (int r = r0; r <= r1; r++)
                for (int c = c0; c <= c1; c++)
                    (grid[r * columns + c] ??= new List<int>()).Add(i);
        }
        return kept;
    }

    /// <summary>The grid cells box <paramref name="i"/> touches (boxes that share no cell do not overlap, so their IoU is 0).</summary>
    private static (int C0, int C1, int R0, int R1) Cells(float[] boxes, int i, float minX, float minY, double cell, int columns, int rows)
    {
        int Clamp(double v, int n) => (int)Math.Clamp(Math.Floor(v), 0, n - 1);
        return (Clamp((boxes[4 * i] - minX) / cell, columns), Clamp((boxes[4 * i + 2] - minX) / cell, columns),
                Clamp((boxes[4 * i + 1] - minY) / cell, rows), Clamp((boxes[4 * i + 3] - minY) / cell, rows));
    }

    private static List<int> Quadratic(float[] boxes, int[] order, double iouThreshold)
    {
        var kept = new List<int>();
        float threshold = (float)iouThreshold;
        foreach (int i in order)
            if (!kept.Exists(k => Iou(boxes, k, i) > threshold))
                kept.Add(i);
        return kept;
    }

    /// <summary>IoU of boxes a and b in float32, operation for operation as <see cref="BoxOps.Iou"/>.</summary>
    private static float Iou(float[] b, int a, int c)
    {
        float areaA = (b[4 * a + 2] - b[4 * a]) * (b[4 * a + 3] - b[4 * a + 1]);
        float areaC = (b[4 * c + 2] - b[4 * c]) * (b[4 * c + 3] - b[4 * c + 1]);
        float w = Math.Max(Math.Min(b[4 * a + 2], b[4 * c + 2]) - Math.Max(b[4 * a], b[4 * c]), 0f);
        float h = Math.Max(Math.Min(b[4 * a + 3], b[4 * c + 3]) - Math.Max(b[4 * a + 1], b[4 * c + 1]), 0f);
        float inter = w * h;
        return inter / (areaA + areaC - inter);
    }
}

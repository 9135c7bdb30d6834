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
    /// Indices of the kept boxes (into <paramref name="boxes"/>, flat x0 y0 x1 y1) among <paramref name="order"/>, which
    /// lists the candidates in decreasing score order (see <see cref="SortKey"/>); kept boxes come back in that order.
    /// </summary>
    public static List<int> Run(float[] boxes, int[] order, double iouThreshold)
    {
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
            return Quadratic(boxes, order,
                iouThreshold); // non-finite boxes, or a threshold that suppresses disjoint boxes: compare with every kept box
        int columns = Math.Min(MaxCellsPerSide, (int)(extentX / cell) + 1), rows = Math.Min(MaxCellsPerSide, (int)(extentY / cell) + 1);
        var grid = new List<int>?[columns * rows];
        float threshold = (float)iouThreshold;

        var area = new float[boxes.Length / 4];
        foreach (int i in order)
            area[i] = (boxes[4 * i + 2] - boxes[4 * i]) * (boxes[4 * i + 3] - boxes[4 * i + 1]);
        bool Suppresses(List<int>? list, int i)
        {
            if (list == null) return false;
            foreach (int k in list)
                if (Iou(boxes, area, k, i) > threshold)
                    return true;
            return false;
        }

        foreach (int i in order)
        {
            var (c0, c1, r0, r1) = Cells(boxes, i, minX, minY, cell, columns, rows);
            // the cell of the box's centre first: a suppressed box's suppressor is usually there, filed early
            int cc = (c0 + c1) / 2, cr = (r0 + r1) / 2;
            bool suppressed = Suppresses(grid[cr * columns + cc], i);
            for (int r = r0; r <= r1 && !suppressed; r++)
                for (int c = c0; c <= c1 && !suppressed; c++)
                    if (r != cr || c != cc)
                        suppressed = Suppresses(grid[r * columns + c], i);
            if (suppressed) continue;
            kept.Add(i);
            for (int r = r0; r <= r1; r++)
                for (int c = c0; c <= c1; c++)
                    (grid[r * columns + c] ??= new List<int>()).Add(i);
        }
        return kept;
    }

    /// <summary>
    /// A key whose ascending order is decreasing <paramref name="score"/>, ties by increasing <paramref name="index"/>
    /// (the order of a stable descending sort when index is the position): the float's bits made order-preserving,
    /// inverted, above the index.
    /// </summary>
    public static ulong SortKey(float score, int index)
    {
        uint bits = (uint)BitConverter.SingleToInt32Bits(score);
        uint ascending = (bits & 0x8000_0000u) == 0 ? bits | 0x8000_0000u : ~bits;
        return ((ulong)~ascending << 32) | (uint)index;
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

    /// <summary>IoU of boxes a and c in float32, operation for operation as <see cref="BoxOps.Iou"/> (0 when they do not overlap).</summary>
    private static float Iou(float[] b, float[] area, int a, int c)
    {
        float w = Math.Min(b[4 * a + 2], b[4 * c + 2]) - Math.Max(b[4 * a], b[4 * c]);
        if (!(w > 0)) return 0;
        float h = Math.Min(b[4 * a + 3], b[4 * c + 3]) - Math.Max(b[4 * a + 1], b[4 * c + 1]);
        if (!(h > 0)) return 0;
        float inter = w * h;
        return inter / (area[a] + area[c] - inter);
    }

    /// <summary>IoU of boxes a and c in float32, operation for operation as <see cref="BoxOps.Iou"/>.</summary>
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

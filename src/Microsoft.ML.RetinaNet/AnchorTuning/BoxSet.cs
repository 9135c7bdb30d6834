namespace Microsoft.ML.RetinaNet.AnchorTuning;

/// <summary>Ground-truth boxes (x0 y0 x1 y1, in the letterboxed training canvas) with their 0-based labels and the class names.</summary>
public sealed class BoxSet
{
    /// <summary>Boxes as 4 values each, labels one per box.</summary>
    public BoxSet(float[] boxes, int[] labels, IReadOnlyList<string> classNames)
    {
        if (boxes.Length != 4 * labels.Length)
            throw new ArgumentException($"{labels.Length} labels need {4 * labels.Length} box values, got {boxes.Length}.", nameof(boxes));
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0 || labels[i] >= classNames.Count)
                throw new ArgumentOutOfRangeException(nameof(labels), $"box {i}: label {labels[i]} is outside 0..{classNames.Count - 1}.");
            float w = boxes[4 * i + 2] - boxes[4 * i], h = boxes[4 * i + 3] - boxes[4 * i + 1];
            if (!(w > 0) || !(h > 0) || !float.IsFinite(w) || !float.IsFinite(h))
                throw new ArgumentException($"box {i} [{string.Join(", ", boxes.Skip(4 * i).Take(4))}] is degenerate: anchor tuning needs x1 > x0 "
                    + $"and y1 > y0.", nameof(boxes));
        }
        Boxes = boxes;
        Labels = labels;
        ClassNames = classNames;
    }

    /// <summary>x0 y0 x1 y1 per box.</summary>
    public float[] Boxes { get; }

    /// <summary>0-based class of each box.</summary>
    public int[] Labels { get; }

    /// <summary>Class names, by label.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Number of boxes.</summary>
    public int Count => Labels.Length;

    internal double Width(int i) => Boxes[4 * i + 2] - Boxes[4 * i];
    internal double Height(int i) => Boxes[4 * i + 3] - Boxes[4 * i + 1];

    /// <summary>A deterministic subset of at most <paramref name="max"/> boxes (every k-th), for fast searches.</summary>
    internal BoxSet Sample(int max)
    {
        if (Count <= max) return this;
        double step = (double)Count / max;
        var idx = Enumerable.Range(0, max).Select(k => (int)(k * step)).ToArray();
        return new BoxSet(idx.SelectMany(i => Boxes.Skip(4 * i).Take(4)).ToArray(), idx.Select(i => Labels[i]).ToArray(), ClassNames);
    }
}

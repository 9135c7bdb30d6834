using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Data;

/// <summary>
/// One image prepared for training: its resized pixels (3, H', W') as bytes, its boxes (x0 y0 x1 y1 in those content
/// pixels; add the letterbox offsets for canvas pixels) and 0-based labels, and where it came from (row, geometry).
/// </summary>
internal sealed class DetectionExample : IDisposable
{
    public DetectionExample(long row, string name, Tensor pixels, float[] boxes, long[] labels, Letterbox letterbox)
    {
        Row = row;
        Name = name;
        Pixels = pixels;
        Boxes = boxes;
        Labels = labels;
        Letterbox = letterbox;
    }

    public long Row { get; }

    /// <summary>"row N" or "row N ('file.png')" for messages.</summary>
    public string Name { get; }
    public Tensor Pixels { get; }
    public float[] Boxes { get; }
    public long[] Labels { get; }
    public Letterbox Letterbox { get; }

    /// <summary>The boxes in canvas pixels.</summary>
    public float[] CanvasBoxes => Letterbox.ContentToCanvas(Boxes);

    public void Dispose() => Pixels.Dispose();
}

/// <summary>Examples read from an IDataView, with the class names of the label keys.</summary>
internal sealed class DetectionDataset : IDisposable
{
    public DetectionDataset(IReadOnlyList<DetectionExample> examples, string[] classNames, int clippedBoxes, SkippedRows? skipped = null)
    {
        Skipped = skipped ?? new SkippedRows();
        Examples = examples;
        ClassNames = classNames;
        ClippedBoxes = clippedBoxes;
    }

    public IReadOnlyList<DetectionExample> Examples { get; }
    public string[] ClassNames { get; }

    /// <summary>Boxes that reached outside their image and were clipped to it.</summary>
    public int ClippedBoxes { get; }

    /// <summary>Rows left out because they were invalid (only with SkipInvalidRows).</summary>
    public SkippedRows Skipped { get; }

    public int ObjectCount => Examples.Sum(e => e.Labels.Length);

    public void Dispose()
    {
        foreach (var e in Examples) e.Dispose();
    }
}

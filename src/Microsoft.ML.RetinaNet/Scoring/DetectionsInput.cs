using System.ComponentModel;

namespace Microsoft.ML.RetinaNet.Scoring;

/// <summary>Input of the detections mapping: the ONNX graph's padded outputs.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class DetectionsInput
{
    /// <summary>(1, D, 4) boxes in original pixels.</summary>
    public float[] rn_boxes { get; set; } = Array.Empty<float>();

    /// <summary>(1, D) scores, −1 padding.</summary>
    public float[] rn_scores { get; set; } = Array.Empty<float>();

    /// <summary>(1, D) 0-based labels.</summary>
    public long[] rn_labels { get; set; } = Array.Empty<long>();

    /// <summary>(1) valid detections.</summary>
    public long[] rn_count { get; set; } = Array.Empty<long>();
}

using System.ComponentModel;

namespace Microsoft.ML.RetinaNet.Scoring;

/// <summary>Output of the detections mapping: variable-length vectors without the padding.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class DetectionsOutput
{
    /// <summary>1-based class index per detection (mapped to the label keys next).</summary>
    public uint[] rn_label_index { get; set; } = Array.Empty<uint>();

    /// <summary>Scores, descending.</summary>
    public float[] rn_score { get; set; } = Array.Empty<float>();

    /// <summary>4 values per detection.</summary>
    public float[] rn_predicted_boxes { get; set; } = Array.Empty<float>();
}

using System.ComponentModel;
using Microsoft.ML.Data;

namespace Microsoft.ML.RetinaNet.Scoring;

/// <summary>Output of the image-size mapping: height and width.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ImageSizeOutput
{
    /// <summary>Original height and width, the ONNX graph's <c>image_sizes</c> input.</summary>
    [VectorType(2)]
    public float[] rn_image_sizes { get; set; } = new float[2];
}

using System.ComponentModel;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.RetinaNet.Scoring;

/// <summary>Input of the image-size mapping: the image.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ImageSizeInput
{
    /// <summary>The image (copied from the trainer's image column).</summary>
    [AnyImageSize]
    public MLImage? rn_image { get; set; }
}

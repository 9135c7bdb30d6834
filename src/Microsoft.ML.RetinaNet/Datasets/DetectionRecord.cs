namespace Microsoft.ML.RetinaNet.Datasets;

/// <summary>
/// One annotated image as it is loaded into ML.NET: an image path (relative to the image folder), a class name per
/// object, and x0 y0 x1 y1 per object in the image's pixels. Map <see cref="Label"/> with <c>MapValueToKey</c> and
/// load <see cref="ImagePath"/> with <c>LoadImages</c> to get the trainer's columns.
/// </summary>
public sealed class DetectionRecord
{
    /// <summary>Image file, relative to the image folder.</summary>
    public string ImagePath { get; set; } = "";

    /// <summary>Class name of each object.</summary>
    public string[] Label { get; set; } = Array.Empty<string>();

    /// <summary>x0, y0, x1, y1 of each object, in pixels.</summary>
    public float[] BoundingBoxes { get; set; } = Array.Empty<float>();

    /// <summary>Pascal VOC's <c>difficult</c> flag of each object (empty when the format has none); training ignores it.</summary>
    public bool[] Difficult { get; set; } = Array.Empty<bool>();

    /// <summary>
    /// COCO's <c>iscrowd</c> flag of each object (empty when none is a crowd region). Pass the column to
    /// <c>EvaluateCocoDetection</c> as <c>crowdColumnName</c>: detections on a crowd region are then ignored, as
    /// pycocotools ignores them. Read with <c>CrowdAnnotations.Keep</c>; training treats crowd boxes as objects.
    /// </summary>
    public bool[] IsCrowd { get; set; } = Array.Empty<bool>();

    /// <summary>
    /// COCO's <c>area</c> of each object (the segmentation area in real COCO files), which decides small / medium / large
    /// in the evaluation (pass <c>areaColumnName</c>); empty when the format has none (then the box's w·h is used).
    /// </summary>
    public double[] Area { get; set; } = Array.Empty<double>();

    /// <summary>
    /// The image's id: COCO's image id, else its position in the annotation file (from 1). pycocotools evaluates images
    /// in ascending id, which breaks ties between equal scores of different images; pass <c>imageIdColumnName</c>.
    /// </summary>
    public long ImageId { get; set; }
}

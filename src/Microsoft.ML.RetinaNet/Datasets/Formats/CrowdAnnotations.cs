namespace Microsoft.ML.RetinaNet.Datasets.Formats;

/// <summary>What to do with COCO annotations marked <c>iscrowd</c>.</summary>
public enum CrowdAnnotations
{
    /// <summary>
    /// Leave them out, as torchvision's COCO training does. Default. Not for evaluation: a detection on a left-out crowd
    /// region counts as a false positive, where pycocotools ignores it; evaluate with <see cref="Keep"/>.
    /// </summary>
    Skip,

    /// <summary>
    /// Keep them, flagged in <see cref="DetectionRecord.IsCrowd"/>: <c>EvaluateCocoDetection</c> with that column treats
    /// them as pycocotools does (ignored regions that absorb detections); training treats them as ordinary boxes.
    /// </summary>
    Keep,
}

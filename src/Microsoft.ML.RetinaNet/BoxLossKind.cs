namespace Microsoft.ML.RetinaNet;

/// <summary>Loss on the box deltas of foreground anchors.</summary>
public enum BoxLossKind
{
    /// <summary>L1 on the encoded deltas (torchvision RetinaNet v1).</summary>
    L1,

    /// <summary>Smooth L1 (Huber, β = 1) on the encoded deltas.</summary>
    SmoothL1,

    /// <summary>1 − generalised IoU of the decoded boxes (torchvision RetinaNet v2).</summary>
    GIoU,
}

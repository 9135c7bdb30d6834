namespace Microsoft.ML.RetinaNet.Modeling;

/// <summary>The two RetinaNet variants torchvision ships.</summary>
public enum RetinaNetVersion
{
    /// <summary><c>retinanet_resnet50_fpn</c>: P6 from P5, heads without normalisation, L1 box loss.</summary>
    V1,

    /// <summary><c>retinanet_resnet50_fpn_v2</c>: P6 from C5, GroupNorm(32) in the heads, GIoU box loss.</summary>
    V2,
}

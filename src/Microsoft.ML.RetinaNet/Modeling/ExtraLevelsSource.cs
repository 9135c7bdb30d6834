namespace Microsoft.ML.RetinaNet.Modeling;

/// <summary>Where the extra pyramid levels P6 and P7 are computed from.</summary>
public enum ExtraLevelsSource
{
    /// <summary>From P5, as torchvision's <c>retinanet_resnet50_fpn</c> (v1): <c>LastLevelP6P7(256, 256)</c>.</summary>
    P5,

    /// <summary>From C5, as the RetinaNet paper and torchvision's <c>retinanet_resnet50_fpn_v2</c>.</summary>
    C5,
}

namespace Microsoft.ML.RetinaNet.Modeling;

/// <summary>Normalisation used in the ResNet backbone.</summary>
public enum BackboneNorm
{
    /// <summary>Ordinary BatchNorm2d: statistics update during training (torchvision's choice without pretrained weights).</summary>
    BatchNorm,

    /// <summary>Fixed statistics and affine parameters (torchvision's choice when fine-tuning pretrained weights).</summary>
    FrozenBatchNorm,
}

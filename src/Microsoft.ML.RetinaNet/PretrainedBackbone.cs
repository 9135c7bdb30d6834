namespace Microsoft.ML.RetinaNet;

/// <summary>ImageNet backbones that ship as packages, to fine-tune from without a <c>.pth</c> file.</summary>
public enum PretrainedBackbone
{
    /// <summary>No packaged backbone: random initialisation, or <see cref="RetinaNetTrainer.Options.PretrainedWeightsPath"/>.</summary>
    None,

    /// <summary>
    /// ML.NET's ImageNet ResNet-18 from the package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> 0.24.0 (the network ML.NET's
    /// <c>DnnFeaturizeImage</c> uses): a basic-block ResNet with [2, 2, 2, 3] blocks per stage, imported into torchvision's
    /// layout with its BGR / 0–255 / mean-image input convention folded into the first convolution.
    /// </summary>
    ResNet18,
}

namespace Microsoft.ML.RetinaNet.Weights;

/// <summary>What a <c>.pth</c> file holds.</summary>
public enum PretrainedWeightsKind
{
    /// <summary>Decide from the keys: <c>backbone.body.*</c> means a RetinaNet, <c>layer1.*</c> an ImageNet ResNet.</summary>
    Auto,

    /// <summary>A whole torchvision RetinaNet state_dict (<c>retinanet_resnet50_fpn</c> and friends).</summary>
    RetinaNet,

    /// <summary>An ImageNet ResNet state_dict (torchvision <c>resnet50</c>…), loaded into the backbone only.</summary>
    Backbone,
}

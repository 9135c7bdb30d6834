using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Modeling;

/// <summary>torchvision's ResNet BasicBlock (ResNet-18/34): two 3×3 convolutions and a shortcut.</summary>
internal sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    public const int Expansion = 1;
    private readonly nn.Module<Tensor, Tensor> conv1, bn1, conv2, bn2;
    private readonly nn.Module<Tensor, Tensor>? downsample;

    public BasicBlock(long inPlanes, long planes, long stride, nn.Module<Tensor, Tensor>? downsample, BackboneNorm norm)
        : base(nameof(BasicBlock))
    {
        conv1 = nn.Conv2d(inPlanes, planes, 3, stride: stride, padding: 1, bias: false);
        bn1 = NormLayers.Create(norm, planes);
        conv2 = nn.Conv2d(planes, planes, 3, stride: 1, padding: 1, bias: false);
        bn2 = NormLayers.Create(norm, planes);
        this.downsample = downsample;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.relu(bn1.call(MixedPrecision.Apply(conv1, x)));
        y = bn2.call(MixedPrecision.Apply(conv2, y));
        var identity = downsample is null ? x : MixedPrecision.Apply(downsample, x);
        return nn.functional.relu(y + identity).MoveToOuterDisposeScope();
    }
}

/// <summary>torchvision's ResNet Bottleneck (ResNet-50/101/152, "v1.5": the stride sits on the 3×3 convolution).</summary>
internal sealed class Bottleneck : nn.Module<Tensor, Tensor>
{
    public const int Expansion = 4;
    private readonly nn.Module<Tensor, Tensor> conv1, bn1, conv2, bn2, conv3, bn3;
    private readonly nn.Module<Tensor, Tensor>? downsample;

    public Bottleneck(long inPlanes, long planes, long stride, nn.Module<Tensor, Tensor>? downsample, BackboneNorm norm)
        : base(nameof(Bottleneck))
    {
        conv1 = nn.Conv2d(inPlanes, planes, 1, bias: false);
        bn1 = NormLayers.Create(norm, planes);
        conv2 = nn.Conv2d(planes, planes, 3, stride: stride, padding: 1, bias: false);
        bn2 = NormLayers.Create(norm, planes);
        conv3 = nn.Conv2d(planes, planes * Expansion, 1, bias: false);
        bn3 = NormLayers.Create(norm, planes * Expansion);
        this.downsample = downsample;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.relu(bn1.call(MixedPrecision.Apply(conv1, x)));
        y = nn.functional.relu(bn2.call(MixedPrecision.Apply(conv2, y)));
        y = bn3.call(MixedPrecision.Apply(conv3, y));
        var identity = downsample is null ? x : MixedPrecision.Apply(downsample, x);
        return nn.functional.relu(y + identity).MoveToOuterDisposeScope();
    }
}

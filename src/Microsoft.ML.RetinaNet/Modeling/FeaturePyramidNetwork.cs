using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Modeling;

/// <summary>
/// Feature pyramid (torchvision's <c>FeaturePyramidNetwork</c> with <c>LastLevelP6P7</c>): lateral 1×1
/// convolutions (<c>inner_blocks.i.0</c>), 3×3 output convolutions (<c>layer_blocks.i.0</c>), nearest-neighbour
/// top-down path, then P6 = conv3×3/2 and P7 = conv3×3/2(ReLU(P6)) (<c>extra_blocks.p6</c>, <c>extra_blocks.p7</c>).
/// </summary>
internal sealed class FeaturePyramidNetwork : nn.Module<Tensor[], Tensor[]>
{
    private readonly TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>> inner_blocks;
    private readonly TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>> layer_blocks;
    private readonly LastLevelP6P7 extra_blocks;

    public FeaturePyramidNetwork(long[] inChannels, long outChannels, ExtraLevelsSource extraFrom) : base(nameof(FeaturePyramidNetwork))
    {
        inner_blocks = nn.ModuleList<nn.Module<Tensor, Tensor>>();
        layer_blocks = nn.ModuleList<nn.Module<Tensor, Tensor>>();
        foreach (long c in inChannels)
        {
            inner_blocks.append(nn.Sequential(KaimingUniformA1(nn.Conv2d(c, outChannels, 1))));
            layer_blocks.append(nn.Sequential(KaimingUniformA1(nn.Conv2d(outChannels, outChannels, 3, padding: 1))));
        }
        extra_blocks = new LastLevelP6P7(extraFrom == ExtraLevelsSource.P5 ? outChannels : inChannels[^1], outChannels);
        RegisterComponents();
    }

    internal static nn.Module<Tensor, Tensor> KaimingUniformA1(TorchSharp.Modules.Conv2d conv)
    {
        using var noGrad = no_grad();
        WeightInit.KaimingUniformUnitGain(conv.weight!);
        nn.init.zeros_(conv.bias!);
        return conv;
    }

    /// <summary>C3, C4, C5 -> P3, P4, P5, P6, P7.</summary>
    public override Tensor[] forward(Tensor[] c)
    {
        using var scope = NewDisposeScope();
        int n = c.Length;
        var results = new Tensor[n + 2];
        var lastInner = MixedPrecision.Apply(inner_blocks[n - 1], c[n - 1]);
        results[n - 1] = MixedPrecision.Apply(layer_blocks[n - 1], lastInner);
        for (int i = n - 2; i >= 0; i--)
        {
            var lateral = MixedPrecision.Apply(inner_blocks[i], c[i]);
            var topDown = nn.functional.interpolate(lastInner, size: new[] { lateral.shape[2], lateral.shape[3] }, mode: InterpolationMode.Nearest);
            lastInner = lateral + topDown;
            results[i] = MixedPrecision.Apply(layer_blocks[i], lastInner);
        }
        var (p6, p7) = extra_blocks.Forward(results[n - 1], c[n - 1]);
        results[n] = p6;
        results[n + 1] = p7;
        foreach (var r in results)
            r.MoveToOuterDisposeScope();
        return results;
    }
}

/// <summary>torchvision's <c>LastLevelP6P7</c>: P6 from P5 when in = out channels, else from C5.</summary>
internal sealed class LastLevelP6P7 : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> p6, p7;
    private readonly bool _useP5;

    public LastLevelP6P7(long inChannels, long outChannels) : base(nameof(LastLevelP6P7))
    {
        p6 = FeaturePyramidNetwork.KaimingUniformA1(nn.Conv2d(inChannels, outChannels, 3, stride: 2, padding: 1));
        p7 = FeaturePyramidNetwork.KaimingUniformA1(nn.Conv2d(outChannels, outChannels, 3, stride: 2, padding: 1));
        _useP5 = inChannels == outChannels;
        RegisterComponents();
    }

    public (Tensor P6, Tensor P7) Forward(Tensor p5, Tensor c5)
    {
        var level6 = MixedPrecision.Apply(p6, _useP5 ? p5 : c5);
        var level7 = MixedPrecision.Apply(p7, nn.functional.relu(level6));
        return (level6, level7);
    }

    public override Tensor forward(Tensor input) => throw new NotSupportedException("Call Forward(p5, c5).");
}

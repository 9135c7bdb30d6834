using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Modeling;

/// <summary>
/// The ResNet trunk without its classifier, returning C3, C4, C5 (outputs of layer2, layer3, layer4), with
/// torchvision's module names (<c>conv1</c>, <c>bn1</c>, <c>layer1</c>…<c>layer4</c>) so that its state_dict is
/// <c>backbone.body.*</c> of torchvision's RetinaNet.
/// </summary>
internal sealed class ResNetBody : nn.Module<Tensor, Tensor[]>
{
    private readonly nn.Module<Tensor, Tensor> conv1, bn1, layer1, layer2, layer3, layer4;

    /// <summary>Channels of C3, C4, C5.</summary>
    public long[] OutChannels { get; }

    /// <param name="depth">18, 34, 50, 101 or 152: the block type (basic below 50) and torchvision's blocks per stage.</param>
    /// <param name="norm">The normalisation after each convolution.</param>
    /// <param name="stageBlocks">Blocks per stage when they differ from torchvision's for the depth; null for torchvision's.</param>
    public ResNetBody(int depth, BackboneNorm norm, int[]? stageBlocks = null) : base(nameof(ResNetBody))
    {
        var (bottleneck, standard) = LayerCounts(depth);
        var blocks = stageBlocks ?? standard;
        int expansion = bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion;
        long inPlanes = 64;
        conv1 = nn.Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = NormLayers.Create(norm, 64);
        layer1 = MakeLayer(ref inPlanes, 64, blocks[0], 1, bottleneck, norm);
        layer2 = MakeLayer(ref inPlanes, 128, blocks[1], 2, bottleneck, norm);
        layer3 = MakeLayer(ref inPlanes, 256, blocks[2], 2, bottleneck, norm);
        layer4 = MakeLayer(ref inPlanes, 512, blocks[3], 2, bottleneck, norm);
        OutChannels = new long[] { 128 * expansion, 256 * expansion, 512 * expansion };
        RegisterComponents();
        InitialiseLikeTorchvision();
    }

    /// <summary>Block type and blocks per stage for the supported depths.</summary>
    public static (bool Bottleneck, int[] Blocks) LayerCounts(int depth) => depth switch
    {
        18 => (false, new[] { 2, 2, 2, 2 }),
        34 => (false, new[] { 3, 4, 6, 3 }),
        50 => (true, new[] { 3, 4, 6, 3 }),
        101 => (true, new[] { 3, 4, 23, 3 }),
        152 => (true, new[] { 3, 8, 36, 3 }),
        _ => throw new ArgumentOutOfRangeException(nameof(depth), depth, "ResNet depth must be 18, 34, 50, 101 or 152."),
    };

    private static nn.Module<Tensor, Tensor> MakeLayer(ref long inPlanes, long planes, int blocks, long stride, bool bottleneck, BackboneNorm norm)
    {
        int expansion = bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion;
        nn.Module<Tensor, Tensor>? downsample = null;
        if (stride != 1 || inPlanes != planes * expansion)
        {
            // keys downsample.0 (1×1 conv) and downsample.1 (norm)
            downsample = nn.Sequential(new StridedPointwiseConv(inPlanes, planes * expansion, stride), NormLayers.Create(norm, planes * expansion));
        }
        var layers = new List<nn.Module<Tensor, Tensor>>();
        for (int i = 0; i < blocks; i++)
        {
            long s = i == 0 ? stride : 1;
            var ds = i == 0 ? downsample : null;
            layers.Add(bottleneck ? new Bottleneck(inPlanes, planes, s, ds, norm) : new BasicBlock(inPlanes, planes, s, ds, norm));
            inPlanes = planes * expansion;
        }
        return nn.Sequential(layers);
    }

    private void InitialiseLikeTorchvision()
    {
        using var noGrad = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            if (p.dim() == 4)
                WeightInit.KaimingNormalFanOutRelu(p);
            else if (name.EndsWith("weight", StringComparison.Ordinal))
                nn.init.ones_(p);
            else
                nn.init.zeros_(p);
        }
    }

    /// <summary>
    /// Freezes the stem and the first stages as torchvision's <c>trainable_backbone_layers</c> does: 5 trains
    /// everything, 3 (torchvision's default with pretrained weights) trains layer2–layer4, 0 trains nothing.
    /// </summary>
    public void SetTrainableStages(int trainableStages)
    {
        if (trainableStages < 0 || trainableStages > 5)
            throw new ArgumentOutOfRangeException(nameof(trainableStages), trainableStages, "Trainable backbone stages must be between 0 and 5.");
        var trainable = new[] { "layer4", "layer3", "layer2", "layer1", "conv1" }.Take(trainableStages).ToList();
        if (trainableStages == 5)
            trainable.Add("bn1");
        foreach (var (name, p) in named_parameters())
            p.requires_grad = trainable.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal));
    }

    public override Tensor[] forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // (N, 3, H, W) -> C3 (N, C, H/8, W/8), C4 (H/16), C5 (H/32)
        var y = nn.functional.max_pool2d(nn.functional.relu(bn1.call(MixedPrecision.Apply(conv1, x))), 3, 2, 1);
        var c2 = layer1.call(y);
        var c3 = layer2.call(c2);
        var c4 = layer3.call(c3);
        var c5 = layer4.call(c4);
        return new[] { c3.MoveToOuterDisposeScope(), c4.MoveToOuterDisposeScope(), c5.MoveToOuterDisposeScope() };
    }
}

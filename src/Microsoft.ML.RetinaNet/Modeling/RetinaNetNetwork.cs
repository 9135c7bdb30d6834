using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Modeling;

/// <summary>What fixes the shape of the network (and so of its state_dict).</summary>
/// <param name="NumClasses">Object classes (the classification head's outputs per anchor).</param>
/// <param name="Depth">ResNet depth: the block type and, unless <paramref name="StageBlocks"/> is given, the blocks per stage.</param>
/// <param name="Version">torchvision's V1 or V2.</param>
/// <param name="Norm">The backbone's normalisation.</param>
/// <param name="AnchorsPerLocation">Anchors per feature cell the subnets predict (the most of any level).</param>
/// <param name="StageBlocks">
/// Residual blocks in layer1–layer4 when they differ from torchvision's for <paramref name="Depth"/> (ML.NET's ImageNet
/// ResNet-18 has [2, 2, 2, 3]); null for torchvision's layout.
/// </param>
/// <param name="LevelAnchors">
/// Anchors per feature cell at each of P3–P7 when levels differ (finer anchor strides at some levels): a level uses the
/// first that many of the subnets' <paramref name="AnchorsPerLocation"/> outputs. Null: every level uses all of them.
/// </param>
internal sealed record NetworkConfig(int NumClasses, int Depth = 50, RetinaNetVersion Version = RetinaNetVersion.V1,
    BackboneNorm Norm = BackboneNorm.BatchNorm, int AnchorsPerLocation = 9, int[]? StageBlocks = null, int[]? LevelAnchors = null)
{
    /// <summary>The network for <paramref name="anchors"/>: the subnets' outputs sized for the level with the most anchors per cell.</summary>
    public static NetworkConfig For(AnchorOptions anchors, int numClasses, int depth, RetinaNetVersion version, BackboneNorm norm,
        int[]? stageBlocks = null)
    {
        var levels = Enumerable.Range(0, AnchorOptions.LevelCount).Select(anchors.LevelAnchorsPerLocation).ToArray();
        int head = anchors.HeadAnchorsPerLocation;
        return new NetworkConfig(numClasses, depth, version, norm, head, stageBlocks, levels.All(a => a == head) ? null : levels);
    }

    /// <summary>Anchors per feature cell at <paramref name="level"/> (0 = P3).</summary>
    public int LevelAnchorsPerLocation(int level) => LevelAnchors?[level] ?? AnchorsPerLocation;

    /// <summary>Blocks per stage actually built: <see cref="StageBlocks"/> or torchvision's for the depth.</summary>
    public int[] Blocks => StageBlocks ?? ResNetBody.LayerCounts(Depth).Blocks;

    public const long FpnChannels = 256;

    /// <summary>Strides of P3–P7 relative to the input.</summary>
    public static readonly int[] PyramidStrides = AnchorOptions.FeatureStrides.ToArray();

    /// <summary>
    /// Height and width of P3–P7 for an input of <paramref name="height"/> × <paramref name="width"/>: every stride-2
    /// convolution or pooling of the network (kernel 3 or 7, "same" padding) maps n to ⌈n/2⌉.
    /// </summary>
    public static (long Height, long Width)[] LevelSizes(long height, long width)
    {
        var sizes = new (long, long)[PyramidStrides.Length];
        long h = height, w = width;
        for (int halvings = 1; halvings <= 7; halvings++)
        {
            h = (h + 1) / 2;
            w = (w + 1) / 2;
            if (halvings >= 3)
                sizes[halvings - 3] = (h, w);
        }
        return sizes;
    }

    public void Validate()
    {
        if (NumClasses < 1)
            throw new ArgumentOutOfRangeException(nameof(NumClasses), NumClasses, "A detector needs at least one class.");
        if (AnchorsPerLocation < 1)
            throw new ArgumentOutOfRangeException(nameof(AnchorsPerLocation), AnchorsPerLocation, "At least one anchor per location is needed.");
        ResNetBody.LayerCounts(Depth);
        if (LevelAnchors is { } levels && (levels.Length != PyramidStrides.Length || levels.Any(a => a < 1 || a > AnchorsPerLocation)))
            throw new ArgumentException(
                $"LevelAnchors needs {PyramidStrides.Length} counts between 1 and {AnchorsPerLocation}; got [{string.Join(", ", levels)}].",
                nameof(LevelAnchors));
        if (StageBlocks is { } blocks && (blocks.Length != 4 || blocks.Any(b => b < 1)))
            throw new ArgumentException($"A ResNet has 4 stages of at least one block each; got [{string.Join(", ", blocks)}].", nameof(StageBlocks));
    }
}

/// <summary>Raw network outputs for a batch.</summary>
/// <param name="ClassLogits">(N, ΣHWA, K) class logits, level-major, then row, column, anchor.</param>
/// <param name="BoxRegression">(N, ΣHWA, 4) box deltas in the same order.</param>
/// <param name="LevelSizes">Height and width of P3–P7.</param>
internal sealed record NetworkOutput(Tensor ClassLogits, Tensor BoxRegression, (long Height, long Width)[] LevelSizes);

/// <summary>ResNet body + FPN, torchvision's <c>BackboneWithFPN</c> (keys <c>body.*</c>, <c>fpn.*</c>).</summary>
internal sealed class BackboneWithFpn : nn.Module<Tensor, Tensor[]>
{
    private readonly ResNetBody body;
    private readonly FeaturePyramidNetwork fpn;

    public BackboneWithFpn(NetworkConfig config) : base(nameof(BackboneWithFpn))
    {
        body = new ResNetBody(config.Depth, config.Norm, config.StageBlocks);
        fpn = new FeaturePyramidNetwork(body.OutChannels, NetworkConfig.FpnChannels,
            config.Version == RetinaNetVersion.V1 ? ExtraLevelsSource.P5 : ExtraLevelsSource.C5);
        RegisterComponents();
    }

    public ResNetBody Body => body;

    /// <summary>(N, 3, H, W) normalised images -> P3–P7, each (N, 256, h, w).</summary>
    public override Tensor[] forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var features = fpn.call(body.call(images));
        foreach (var f in features)
            f.MoveToOuterDisposeScope();
        return features;
    }
}

/// <summary>
/// RetinaNet as torchvision builds it: <c>backbone</c> (ResNet + FPN) and <c>head</c> (classification and
/// regression subnets). state_dict keys equal torchvision's, so its <c>.pth</c> files load.
/// </summary>
internal sealed class RetinaNetNetwork : nn.Module<Tensor, NetworkOutput>
{
    private readonly BackboneWithFpn backbone;
    private readonly RetinaNetHead head;

    public RetinaNetNetwork(NetworkConfig config) : base(nameof(RetinaNetNetwork))
    {
        config.Validate();
        Config = config;
        backbone = new BackboneWithFpn(config);
        head = new RetinaNetHead(NetworkConfig.FpnChannels, config.AnchorsPerLocation, config.NumClasses, config.Version == RetinaNetVersion.V2,
            Enumerable.Range(0, PyramidLevels).Select(l => (long)config.LevelAnchorsPerLocation(l)).ToArray());
        RegisterComponents();
    }

    public NetworkConfig Config { get; }

    private static int PyramidLevels => NetworkConfig.PyramidStrides.Length;

    public ResNetBody Body => backbone.Body;

    /// <summary>(N, 3, H, W) images normalised with the ImageNet mean and std -> logits and deltas for every anchor.</summary>
    public override NetworkOutput forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var features = backbone.call(images);
        var (logits, deltas) = head.call(features);
        var sizes = features.Select(f => (f.shape[2], f.shape[3])).ToArray();
        return new NetworkOutput(logits.MoveToOuterDisposeScope(), deltas.MoveToOuterDisposeScope(), sizes);
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Modeling;

/// <summary>
/// The shared conv tower of a RetinaNet subnet: 4 × (conv3×3 [+ GroupNorm(32)] + ReLU), torchvision's
/// <c>Conv2dNormActivation</c> layout (keys <c>conv.i.0</c> for the conv, <c>conv.i.1</c> for the norm).
/// </summary>
internal static class HeadTower
{
    public static nn.Module<Tensor, Tensor> Create(long channels, bool groupNorm)
    {
        var blocks = new List<nn.Module<Tensor, Tensor>>();
        for (int i = 0; i < 4; i++)
        {
            var conv = nn.Conv2d(channels, channels, 3, padding: 1, bias: !groupNorm);
            using (no_grad())
            {
                WeightInit.Normal(conv.weight!, 0.01);
                if (conv.bias is not null)
                    nn.init.zeros_(conv.bias);
            }
            if (!groupNorm)
            {
                blocks.Add(nn.Sequential(conv, nn.ReLU()));
                continue;
            }
            // TorchSharp 0.107's GroupNorm leaves its affine parameters uninitialised (whatever was in memory): set them
            // to torch's defaults, weight 1 and bias 0
            var norm = nn.GroupNorm(32, channels);
            using (no_grad())
            {
                nn.init.ones_(norm.weight!);
                nn.init.zeros_(norm.bias!);
            }
            blocks.Add(nn.Sequential(conv, norm, nn.ReLU()));
        }
        return nn.Sequential(blocks);
    }

    /// <summary>
    /// Applies <paramref name="tower"/> then <paramref name="output"/> to every level and concatenates; level l keeps the
    /// first <paramref name="levelAnchors"/>[l] anchors of every location (all of them when it equals the output's).
    /// </summary>
    public static Tensor Apply(nn.Module<Tensor, Tensor> tower, TorchSharp.Modules.Conv2d output, IReadOnlyList<Tensor> features,
        long valuesPerAnchor, long[] levelAnchors)
    {
        using var scope = NewDisposeScope();
        var levels = new Tensor[features.Count];
        for (int l = 0; l < features.Count; l++)
        {
            var y = OutputConvolution.Apply(output, MixedPrecision.Apply(tower, features[l]));
            long n = y.shape[0], h = y.shape[2], w = y.shape[3];
            // (N, A*V, H, W) -> (N, A, V, H, W) [-> (N, A_l, V, H, W)] -> (N, H, W, A_l, V) -> (N, H*W*A_l, V)
            var perAnchor = y.view(n, -1, valuesPerAnchor, h, w);
            if (perAnchor.shape[1] != levelAnchors[l])
                perAnchor = perAnchor.narrow(1, 0, levelAnchors[l]);
            levels[l] = perAnchor.permute(0, 3, 4, 1, 2).reshape(n, -1, valuesPerAnchor);
        }
        return cat(levels, 1).MoveToOuterDisposeScope();
    }
}

/// <summary>Classification subnet: tower + <c>cls_logits</c> with the prior-probability bias −log((1−π)/π).</summary>
internal sealed class RetinaNetClassificationHead : nn.Module<IReadOnlyList<Tensor>, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> conv;
    private readonly TorchSharp.Modules.Conv2d cls_logits;
    private readonly long _numClasses;
    private readonly long[] _levelAnchors;

    public RetinaNetClassificationHead(long channels, long numAnchors, long numClasses, bool groupNorm, long[] levelAnchors,
        double priorProbability = 0.01)
        : base(nameof(RetinaNetClassificationHead))
    {
        _numClasses = numClasses;
        _levelAnchors = levelAnchors;
        conv = HeadTower.Create(channels, groupNorm);
        cls_logits = nn.Conv2d(channels, numAnchors * numClasses, 3, padding: 1);
        using (no_grad())
        {
            WeightInit.Normal(cls_logits.weight!, 0.01);
            nn.init.constant_(cls_logits.bias!, -Math.Log((1 - priorProbability) / priorProbability));
        }
        RegisterComponents();
    }

    /// <summary>P3–P7 -> class logits (N, ΣHWA, K).</summary>
    public override Tensor forward(IReadOnlyList<Tensor> features) => HeadTower.Apply(conv, cls_logits, features, _numClasses, _levelAnchors);
}

/// <summary>Box regression subnet: tower + <c>bbox_reg</c> (4 deltas per anchor), zero bias.</summary>
internal sealed class RetinaNetRegressionHead : nn.Module<IReadOnlyList<Tensor>, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> conv;
    private readonly TorchSharp.Modules.Conv2d bbox_reg;
    private readonly long[] _levelAnchors;

    public RetinaNetRegressionHead(long channels, long numAnchors, bool groupNorm, long[] levelAnchors) : base(nameof(RetinaNetRegressionHead))
    {
        _levelAnchors = levelAnchors;
        conv = HeadTower.Create(channels, groupNorm);
        bbox_reg = nn.Conv2d(channels, numAnchors * 4, 3, padding: 1);
        using (no_grad())
        {
            WeightInit.Normal(bbox_reg.weight!, 0.01);
            nn.init.zeros_(bbox_reg.bias!);
        }
        RegisterComponents();
    }

    /// <summary>P3–P7 -> box deltas (N, ΣHWA, 4).</summary>
    public override Tensor forward(IReadOnlyList<Tensor> features) => HeadTower.Apply(conv, bbox_reg, features, 4, _levelAnchors);
}

/// <summary>Both subnets, keys <c>classification_head.*</c> and <c>regression_head.*</c>.</summary>
internal sealed class RetinaNetHead : nn.Module<IReadOnlyList<Tensor>, (Tensor ClassLogits, Tensor BoxRegression)>
{
    private readonly RetinaNetClassificationHead classification_head;
    private readonly RetinaNetRegressionHead regression_head;

    /// <summary>
    /// Both subnets; level l keeps the first <paramref name="levelAnchors"/>[l] of the <paramref name="numAnchors"/> anchors per location.
    /// </summary>
    public RetinaNetHead(long channels, long numAnchors, long numClasses, bool groupNorm, long[] levelAnchors) : base(nameof(RetinaNetHead))
    {
        classification_head = new RetinaNetClassificationHead(channels, numAnchors, numClasses, groupNorm, levelAnchors);
        regression_head = new RetinaNetRegressionHead(channels, numAnchors, groupNorm, levelAnchors);
        RegisterComponents();
    }

    public override (Tensor ClassLogits, Tensor BoxRegression) forward(IReadOnlyList<Tensor> features)
        => (classification_head.call(features), regression_head.call(features));
}

using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Detection;

/// <summary>Ground truth for one image: (G, 4) boxes x0, y0, x1, y1 in network-input pixels, (G) int64 0-based labels.</summary>
internal sealed record ImageTargets(Tensor Boxes, Tensor Labels);

/// <summary>Settings of the training loss (defaults as torchvision).</summary>
internal sealed record LossSettings(double FocalAlpha = 0.25, double FocalGamma = 2.0, BoxLossKind BoxLoss = BoxLossKind.L1,
    double SmoothL1Beta = 1.0, double ForegroundIou = 0.5, double BackgroundIou = 0.4, bool AllowLowQualityMatches = true);

/// <summary>
/// RetinaNet's loss as torchvision computes it: per image, anchors matched by IoU, focal loss over every
/// non-ignored anchor and box loss over foreground anchors, each divided by max(1, #foreground); then the
/// mean over images.
/// </summary>
internal sealed class DetectionLoss
{
    private readonly LossSettings _settings;
    private readonly Matcher _matcher;
    private readonly BoxCoder _coder = new();

    public DetectionLoss(LossSettings settings)
    {
        _settings = settings;
        _matcher = new Matcher(settings.ForegroundIou, settings.BackgroundIou, settings.AllowLowQualityMatches);
    }

    public Matcher Matcher => _matcher;

    /// <summary>(A) matched box index per anchor, or −1 background / −2 ignored.</summary>
    public Tensor MatchAnchors(Tensor anchors, ImageTargets targets)
    {
        using var scope = NewDisposeScope();
        if (targets.Boxes.shape[0] == 0)
            return full(anchors.shape[0], Matcher.Background, dtype: ScalarType.Int64, device: anchors.device).MoveToOuterDisposeScope();
        return _matcher.Match(BoxOps.Iou(targets.Boxes, anchors)).MoveToOuterDisposeScope();
    }

    /// <summary>Classification and box loss (scalars) for a batch.</summary>
    public (Tensor Classification, Tensor Box) Compute(Tensor classLogits, Tensor boxRegression, Tensor anchors, IReadOnlyList<ImageTargets> targets)
    {
        using var scope = NewDisposeScope();
        long numClasses = classLogits.shape[2];
        var clsLosses = new List<Tensor>();
        var boxLosses = new List<Tensor>();
        for (int i = 0; i < targets.Count; i++)
        {
            var matched = MatchAnchors(anchors, targets[i]);
            var foreground = matched >= 0;
            var foregroundIdx = nonzero(foreground).view(-1);
            var normaliser = foreground.sum().clamp_min(1).to(classLogits.dtype);

            // one-hot (A, K) targets for foreground anchors
            var gtLabels = targets[i].Labels.index_select(0, matched.index_select(0, foregroundIdx));
            var clsTarget = zeros_like(classLogits[i]);
            clsTarget.index_put_(1f, foregroundIdx, gtLabels);
            var valid = matched != Matcher.Ignored;
            clsLosses.Add(FocalLoss.Sum(classLogits[i][valid], clsTarget[valid], _settings.FocalAlpha, _settings.FocalGamma) / normaliser);

            var gtBoxes = targets[i].Boxes.index_select(0, matched.index_select(0, foregroundIdx));
            var deltas = boxRegression[i].index_select(0, foregroundIdx);
            var fgAnchors = anchors.index_select(0, foregroundIdx);
            boxLosses.Add(BoxLoss(deltas, fgAnchors, gtBoxes) / normaliser);
        }
        var cls = stack(clsLosses).sum() / targets.Count;
        var box = stack(boxLosses).sum() / Math.Max(1, targets.Count);
        return (cls.MoveToOuterDisposeScope(), box.MoveToOuterDisposeScope());
    }

    private Tensor BoxLoss(Tensor deltas, Tensor anchors, Tensor gtBoxes)
    {
        switch (_settings.BoxLoss)
        {
            case BoxLossKind.L1:
                return nn.functional.l1_loss(deltas, _coder.Encode(gtBoxes, anchors), nn.Reduction.Sum);
            case BoxLossKind.SmoothL1:
                return nn.functional.smooth_l1_loss(deltas, _coder.Encode(gtBoxes, anchors), nn.Reduction.Sum, _settings.SmoothL1Beta);
            case BoxLossKind.GIoU:
                return BoxOps.GeneralizedIouLoss(_coder.Decode(deltas, anchors), gtBoxes).sum();
            default:
                throw new ArgumentOutOfRangeException(nameof(_settings.BoxLoss), _settings.BoxLoss, "Unknown box loss.");
        }
    }
}

using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Detection;

/// <summary>
/// Assigns each anchor a ground-truth box by IoU, as torchvision's <c>Matcher</c>: IoU ≥ high → that box's
/// index; IoU &lt; low → <see cref="Background"/>; in between → <see cref="Ignored"/>. With low-quality
/// matches allowed, every anchor that ties for a box's highest IoU keeps its best match (even below low).
/// </summary>
internal sealed class Matcher
{
    public const long Background = -1;
    public const long Ignored = -2;

    public Matcher(double highThreshold = 0.5, double lowThreshold = 0.4, bool allowLowQualityMatches = true)
    {
        if (lowThreshold > highThreshold)
            throw new ArgumentException($"The background IoU threshold ({lowThreshold}) must not exceed the foreground threshold ({highThreshold}).");
        HighThreshold = highThreshold;
        LowThreshold = lowThreshold;
        AllowLowQualityMatches = allowLowQualityMatches;
    }

    public double HighThreshold { get; }
    public double LowThreshold { get; }
    public bool AllowLowQualityMatches { get; }

    /// <summary>(G, A) IoU of G boxes with A anchors -> (A) int64 matched box index, −1 or −2.</summary>
    public Tensor Match(Tensor iou)
    {
        using var scope = NewDisposeScope();
        if (iou.shape[0] == 0)
            return full(iou.shape[1], Background, dtype: ScalarType.Int64, device: iou.device).MoveToOuterDisposeScope();
        var (bestIou, matches) = iou.max(0);
        var allMatches = matches.clone();
        matches = matches.masked_fill(bestIou < LowThreshold, Background)
            .masked_fill((bestIou >= LowThreshold) & (bestIou < HighThreshold), Ignored);
        if (AllowLowQualityMatches)
        {
            // For each box, every anchor achieving its highest IoU keeps its best match.
            var (bestPerBox, _) = iou.max(1);
            var isBest = (iou == bestPerBox.unsqueeze(1)).any(0);
            matches = where(isBest, allMatches, matches);
        }
        return matches.MoveToOuterDisposeScope();
    }
}

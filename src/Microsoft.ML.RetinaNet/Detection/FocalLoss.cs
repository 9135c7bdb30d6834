using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Detection;

/// <summary>Sigmoid focal loss (Lin et al. 2017; torchvision.ops.sigmoid_focal_loss), summed.</summary>
internal static class FocalLoss
{
    /// <summary>
    /// FL = α_t · (1 − p_t)^γ · BCE(x, t), with p_t = p·t + (1−p)(1−t) and α_t = α·t + (1−α)(1−t);
    /// α &lt; 0 disables the class weighting. Returns the sum over all elements.
    /// </summary>
    public static Tensor Sum(Tensor logits, Tensor targets, double alpha = 0.25, double gamma = 2.0)
    {
        using var scope = NewDisposeScope();
        var p = logits.sigmoid();
        var ce = nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction: nn.Reduction.None);
        var pT = p * targets + (1 - p) * (1 - targets);
        var loss = ce * (1 - pT).pow(gamma);
        if (alpha >= 0)
            loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss;
        return loss.sum().MoveToOuterDisposeScope();
    }
}

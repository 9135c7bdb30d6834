using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Detection;

/// <summary>Box arithmetic on (N, 4) tensors of x0, y0, x1, y1 (torchvision.ops.boxes).</summary>
internal static class BoxOps
{
    public static Tensor Area(Tensor boxes)
    {
        using var scope = NewDisposeScope();
        return ((boxes[.., 2] - boxes[.., 0]) * (boxes[.., 3] - boxes[.., 1])).MoveToOuterDisposeScope();
    }

    /// <summary>(N, 4), (M, 4) -> (N, M) intersection over union.</summary>
    public static Tensor Iou(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        var areaA = Area(a);
        var areaB = Area(b);
        // (N, 1, 2) vs (M, 2) -> (N, M, 2)
        var lt = maximum(a[.., TensorIndex.None, ..2], b[.., ..2]);
        var rb = minimum(a[.., TensorIndex.None, 2..], b[.., 2..]);
        var wh = (rb - lt).clamp_min(0);
        var inter = wh[.., .., 0] * wh[.., .., 1];
        var union = areaA[.., TensorIndex.None] + areaB - inter;
        return (inter / union).MoveToOuterDisposeScope();
    }

    /// <summary>Clamps x to [x0, x1] and y to [y0, y1] (torchvision clips to [0, width] × [0, height]).</summary>
    public static Tensor Clip(Tensor boxes, (float X0, float Y0, float X1, float Y1) region)
    {
        using var scope = NewDisposeScope();
        var x = boxes[.., TensorIndex.Slice(0, null, 2)].clamp(region.X0, region.X1);
        var y = boxes[.., TensorIndex.Slice(1, null, 2)].clamp(region.Y0, region.Y1);
        // (N, 2), (N, 2) -> (N, 2, 2) -> (N, 4) as x0, y0, x1, y1
        return stack(new[] { x, y }, 2).reshape(boxes.shape).MoveToOuterDisposeScope();
    }

    /// <summary>Generalised IoU loss 1 − GIoU per row of two aligned (N, 4) sets (torchvision's, eps 1e-7).</summary>
    public static Tensor GeneralizedIouLoss(Tensor boxes, Tensor targets, double eps = 1e-7)
    {
        using var scope = NewDisposeScope();
        var (x1, y1, x2, y2) = (boxes[.., 0], boxes[.., 1], boxes[.., 2], boxes[.., 3]);
        var (gx1, gy1, gx2, gy2) = (targets[.., 0], targets[.., 1], targets[.., 2], targets[.., 3]);
        var iw = (minimum(x2, gx2) - maximum(x1, gx1)).clamp_min(0);
        var ih = (minimum(y2, gy2) - maximum(y1, gy1)).clamp_min(0);
        var inter = iw * ih;
        var union = (x2 - x1) * (y2 - y1) + (gx2 - gx1) * (gy2 - gy1) - inter;
        var iou = inter / (union + eps);
        var enclosing = (maximum(x2, gx2) - minimum(x1, gx1)) * (maximum(y2, gy2) - minimum(y1, gy1));
        var giou = iou - (enclosing - union) / (enclosing + eps);
        return (1 - giou).MoveToOuterDisposeScope();
    }
}

using Microsoft.ML.RetinaNet.Detection;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Tests.Detection;

/// <summary>Box coder, IoU, GIoU and focal loss against numbers worked out by hand.</summary>
public class BoxMathTests
{
    [Fact]
    public void EncodeGivesHandComputedDeltasAndDecodeInvertsIt()
    {
        using var scope = NewDisposeScope();
        var anchors = tensor(new float[] { 0, 0, 10, 20, 0, 0, 10, 20 }, new long[] { 2, 4 });
        // box 1: same size, centre moved by (5, 5): dx = 5/10, dy = 5/20; box 2: twice as wide -> dw = ln 2
        var boxes = tensor(new float[] { 5, 5, 15, 25, -5, 0, 15, 20 }, new long[] { 2, 4 });
        var coder = new BoxCoder();
        var deltas = coder.Encode(boxes, anchors);
        Assert.Equal(new[] { 0.5f, 0.25f, 0f, 0f, 0f, 0f, MathF.Log(2), 0f }, deltas.data<float>().ToArray());
        var decoded = coder.Decode(deltas, anchors);
        Assert.True(decoded.allclose(boxes, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void DecodeClampsWidthGrowthAtLog1000Over16()
    {
        using var scope = NewDisposeScope();
        var anchors = tensor(new float[] { 0, 0, 10, 10 }, new long[] { 1, 4 });
        var decoded = new BoxCoder().Decode(tensor(new float[] { 0, 0, 10, 0 }, new long[] { 1, 4 }), anchors);
        // width = 10 · 1000/16 = 625 around the centre x = 5 (exp(log 62.5) in float32 is 62.500004: 1e-4 slack)
        var expected = tensor(new[] { 5 - 312.5f, 0, 5 + 312.5f, 10 }, new long[] { 1, 4 });
        Assert.True(decoded.allclose(expected, rtol: 1e-6, atol: 1e-4), decoded.ToString(TorchSharp.TensorStringStyle.Julia));
    }

    [Fact]
    public void IouAndGiouMatchHandComputation()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new float[] { 0, 0, 2, 2 }, new long[] { 1, 4 });
        var b = tensor(new float[] { 1, 1, 3, 3, 5, 5, 6, 6 }, new long[] { 2, 4 });
        Assert.Equal(new[] { 1f / 7, 0f }, BoxOps.Iou(a, b).data<float>().ToArray());
        // IoU 1/7, enclosing box 3×3 = 9, union 7: GIoU = 1/7 − 2/9, loss = 1 − GIoU
        float loss = BoxOps.GeneralizedIouLoss(a, b[0].unsqueeze(0)).item<float>();
        Assert.Equal(1 - (1.0 / 7 - 2.0 / 9), loss, 5);
    }

    [Fact]
    public void FocalLossMatchesHandComputation()
    {
        using var scope = NewDisposeScope();
        // logit 0: p = 0.5, BCE = ln 2, (1 − p_t)^2 = 1/4; α_t = 0.25 for the positive, 0.75 for the negative
        var loss = FocalLoss.Sum(tensor(new float[] { 0, 0 }), tensor(new float[] { 1, 0 })).item<float>();
        Assert.Equal((0.25 + 0.75) * 0.25 * Math.Log(2), loss, 6);
        // a confident correct prediction costs almost nothing: logit 5 for a positive
        double p = 1 / (1 + Math.Exp(-5));
        double expected = 0.25 * Math.Pow(1 - p, 2) * -Math.Log(p);
        Assert.Equal(expected, FocalLoss.Sum(tensor(new float[] { 5 }), tensor(new float[] { 1 })).item<float>(), 8);
    }

    [Fact]
    public void MatcherAppliesThresholdsAndRestoresLowQualityMatches()
    {
        using var scope = NewDisposeScope();
        // 2 boxes × 4 anchors. Anchor 0: 0.9 with box 0 -> 0. Anchor 1: 0.45 -> ignored. Anchor 2: best 0.35 with box 1,
        // which is box 1's best -> restored to 1. Anchor 3: 0.3 -> background.
        var iou = tensor(new float[] { 0.9f, 0.45f, 0.1f, 0.3f, 0.2f, 0.3f, 0.35f, 0.1f }, new long[] { 2, 4 });
        Assert.Equal(new long[] { 0, -2, 1, -1 }, new Matcher().Match(iou).data<long>().ToArray());
        Assert.Equal(new long[] { 0, -2, -1, -1 }, new Matcher(allowLowQualityMatches: false).Match(iou).data<long>().ToArray());
    }
}

using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Detection;

/// <summary>
/// Encodes boxes as deltas (dx, dy, dw, dh) relative to anchors and back, as torchvision's <c>BoxCoder</c>:
/// dx = wx·(cx − cxₐ)/wₐ, dw = ww·log(w/wₐ); decoding clamps dw, dh at log(1000/16).
/// </summary>
internal sealed class BoxCoder
{
    public static readonly double DefaultClip = Math.Log(1000.0 / 16);
    private readonly double _wx, _wy, _ww, _wh, _clip;

    public BoxCoder(double wx = 1, double wy = 1, double ww = 1, double wh = 1, double? clip = null)
    {
        (_wx, _wy, _ww, _wh) = (wx, wy, ww, wh);
        _clip = clip ?? DefaultClip;
    }

    /// <summary>(N, 4) boxes and their (N, 4) anchors -> (N, 4) deltas.</summary>
    public Tensor Encode(Tensor boxes, Tensor anchors)
    {
        using var scope = NewDisposeScope();
        var aw = anchors[.., 2] - anchors[.., 0];
        var ah = anchors[.., 3] - anchors[.., 1];
        var acx = anchors[.., 0] + 0.5 * aw;
        var acy = anchors[.., 1] + 0.5 * ah;
        var gw = boxes[.., 2] - boxes[.., 0];
        var gh = boxes[.., 3] - boxes[.., 1];
        var gcx = boxes[.., 0] + 0.5 * gw;
        var gcy = boxes[.., 1] + 0.5 * gh;
        var dx = _wx * (gcx - acx) / aw;
        var dy = _wy * (gcy - acy) / ah;
        var dw = _ww * log(gw / aw);
        var dh = _wh * log(gh / ah);
        return stack(new[] { dx, dy, dw, dh }, 1).MoveToOuterDisposeScope();
    }

    /// <summary>(N, 4) deltas and (N, 4) anchors -> (N, 4) boxes x0, y0, x1, y1.</summary>
    public Tensor Decode(Tensor deltas, Tensor anchors)
    {
        using var scope = NewDisposeScope();
        deltas = deltas.to(anchors.dtype);
        var w = anchors[.., 2] - anchors[.., 0];
        var h = anchors[.., 3] - anchors[.., 1];
        var cx = anchors[.., 0] + 0.5 * w;
        var cy = anchors[.., 1] + 0.5 * h;
        var dx = deltas[.., 0] / _wx;
        var dy = deltas[.., 1] / _wy;
        var dw = (deltas[.., 2] / _ww).clamp_max(_clip);
        var dh = (deltas[.., 3] / _wh).clamp_max(_clip);
        var pcx = dx * w + cx;
        var pcy = dy * h + cy;
        var halfW = 0.5 * (exp(dw) * w);
        var halfH = 0.5 * (exp(dh) * h);
        return stack(new[] { pcx - halfW, pcy - halfH, pcx + halfW, pcy + halfH }, 1).MoveToOuterDisposeScope();
    }
}

namespace Microsoft.ML.RetinaNet.Detection;

/// <summary>
/// The anchor shapes of one pyramid level, centred on the origin, computed in float32 exactly as torchvision's
/// <c>AnchorGenerator.generate_anchors</c>: h_ratio = √r, w_ratio = 1/h_ratio, for each ratio then each size
/// (ratio-major), [−w, −h, w, h]/2 rounded half to even.
/// </summary>
internal static class AnchorShapes
{
    /// <summary>Size × scale for each scale of a level, rounded down when the options ask for it.</summary>
    public static float[] Sizes(AnchorOptions options, int level) => options.Scales
        .Select(s => options.RoundSizesDown ? MathF.Floor(options.Sizes[level] * s) : options.Sizes[level] * s).ToArray();

    /// <summary>(A·4) x0 y0 x1 y1 of the A = ratios × scales anchors of a level around (0, 0).</summary>
    public static float[] BaseAnchors(AnchorOptions options, int level)
    {
        var sizes = Sizes(options, level);
        var result = new float[options.Ratios.Length * sizes.Length * 4];
        int k = 0;
        foreach (float ratio in options.Ratios)
        {
            float hRatio = MathF.Sqrt(ratio);
            float wRatio = 1f / hRatio;
            foreach (float size in sizes)
            {
                float halfW = wRatio * size / 2f, halfH = hRatio * size / 2f;
                result[k++] = MathF.Round(-halfW, MidpointRounding.ToEven);
                result[k++] = MathF.Round(-halfH, MidpointRounding.ToEven);
                result[k++] = MathF.Round(halfW, MidpointRounding.ToEven);
                result[k++] = MathF.Round(halfH, MidpointRounding.ToEven);
            }
        }
        return result;
    }
}

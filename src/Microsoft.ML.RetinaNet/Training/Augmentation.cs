using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Training;

/// <summary>Random horizontal flip and scale jitter of a letterboxed image; boxes follow.</summary>
internal sealed class Augmentation
{
    private readonly double _flipProbability, _scaleMin, _scaleMax;
    private readonly Random _random;

    public Augmentation(double flipProbability, double scaleMin, double scaleMax, int seed)
    {
        if (flipProbability < 0 || flipProbability > 1)
            throw new ArgumentOutOfRangeException(nameof(flipProbability), flipProbability, "HorizontalFlipProbability must be between 0 and 1.");
        if (!(scaleMin > 0) || scaleMax < scaleMin)
            throw new ArgumentOutOfRangeException(nameof(scaleMin),
                $"ScaleJitterMin ({scaleMin}) must be positive and not above ScaleJitterMax ({scaleMax}).");
        (_flipProbability, _scaleMin, _scaleMax) = (flipProbability, scaleMin, scaleMax);
        _random = new Random(seed);
    }

    public static Augmentation None { get; } = new(0, 1, 1, 0);

    /// <summary>
    /// (3, h, w) float image in [0, 1] and (G, 4) boxes -> augmented image (3, h', w') cropped to the canvas, its
    /// boxes, and a mask of the boxes that kept at least 2 pixels in each direction (the rest were cropped away).
    /// </summary>
    public (Tensor Image, float[] Boxes, bool[] Kept) Apply(Tensor image, float[] boxes, int canvasSize)
    {
        using var scope = NewDisposeScope();
        var result = image;
        var b = (float[])boxes.Clone();
        var kept = Enumerable.Repeat(true, boxes.Length / 4).ToArray();
        long h = image.shape[1], w = image.shape[2];

        double scale = _scaleMin == _scaleMax ? _scaleMin : _scaleMin + _random.NextDouble() * (_scaleMax - _scaleMin);
        if (Math.Abs(scale - 1) > 1e-6)
        {
            long nh = Math.Max(1, (long)Math.Round(h * scale)), nw = Math.Max(1, (long)Math.Round(w * scale));
            // (3, h, w) -> (1, 3, h, w) -> (1, 3, nh, nw) -> (3, nh, nw)
            result = nn.functional.interpolate(result.unsqueeze(0), new[] { nh, nw }, mode: InterpolationMode.Bilinear,
                align_corners: false).squeeze(0);
            float sx = (float)nw / w, sy = (float)nh / h;
            h = Math.Min(nh, canvasSize);
            w = Math.Min(nw, canvasSize);
            result = result.narrow(1, 0, h).narrow(2, 0, w);
            for (int i = 0; i < kept.Length; i++)
            {
                b[4 * i] = Math.Min(b[4 * i] * sx, w);
                b[4 * i + 1] = Math.Min(b[4 * i + 1] * sy, h);
                b[4 * i + 2] = Math.Min(b[4 * i + 2] * sx, w);
                b[4 * i + 3] = Math.Min(b[4 * i + 3] * sy, h);
                kept[i] = b[4 * i + 2] - b[4 * i] >= 2 && b[4 * i + 3] - b[4 * i + 1] >= 2;
            }
        }
        if (_flipProbability > 0 && _random.NextDouble() < _flipProbability)
        {
            result = result.flip(2);
            for (int i = 0; i < kept.Length; i++)
            {
                float x0 = b[4 * i];
                b[4 * i] = w - b[4 * i + 2];
                b[4 * i + 2] = w - x0;
            }
        }
        return (result.contiguous().MoveToOuterDisposeScope(), b, kept);
    }
}

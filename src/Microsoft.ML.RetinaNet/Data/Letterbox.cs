using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Data;

/// <summary>
/// Fits an image into a square canvas keeping its aspect ratio: scaled by size / max(width, height), placed at
/// the top-left, padded right and bottom. Boxes map to the canvas by multiplying with <see cref="Scale"/> and back
/// by dividing.
/// </summary>
internal readonly record struct Letterbox(int OriginalWidth, int OriginalHeight, int Width, int Height, float Scale)
{
    public static Letterbox For(int width, int height, int canvasSize)
    {
        float scale = (float)canvasSize / Math.Max(width, height);
        int w = Math.Clamp((int)Math.Round(width * scale), 1, canvasSize);
        int h = Math.Clamp((int)Math.Round(height * scale), 1, canvasSize);
        return new Letterbox(width, height, w, h, scale);
    }

    /// <summary>(3, h, w) uint8 RGB of the image resized to the letterboxed content size.</summary>
    public Tensor Resize(MLImage image)
    {
        using var scope = NewDisposeScope();
        var rgb = ImagePixels.ToRgbFloat(image);
        // (3, H, W) -> (1, 3, H, W) for interpolate, back to (3, h, w)
        var resized = Width == OriginalWidth && Height == OriginalHeight
            ? rgb
            : nn.functional.interpolate(rgb.unsqueeze(0), new long[] { Height, Width }, mode: InterpolationMode.Bilinear,
                align_corners: false, antialias: Scale < 1).squeeze(0);
        return resized.mul(255).round_().clamp_(0, 255).to(ScalarType.Byte).MoveToOuterDisposeScope();
    }
}

/// <summary>Pixels of an <see cref="MLImage"/> as tensors.</summary>
internal static class ImagePixels
{
    /// <summary>(3, H, W) float RGB in [0, 1].</summary>
    public static Tensor ToRgbFloat(MLImage image)
    {
        using var scope = NewDisposeScope();
        var bytes = image.Pixels.ToArray();
        int channels = bytes.Length / (image.Width * image.Height);
        if (channels != 4 && channels != 3)
            throw new InvalidDataException($"Image '{image.Tag}' has {image.BitsPerPixel} bits per pixel; expected 24 or 32.");
        // (H, W, C) -> (C, H, W)
        var hwc = tensor(bytes, new long[] { image.Height, image.Width, channels }).permute(2, 0, 1);
        bool bgr = image.PixelFormat == MLPixelFormat.Bgra32;
        var rgb = bgr ? hwc.index_select(0, tensor(new long[] { 2, 1, 0 })) : hwc.narrow(0, 0, 3);
        return rgb.to(ScalarType.Float32).div_(255).MoveToOuterDisposeScope();
    }
}

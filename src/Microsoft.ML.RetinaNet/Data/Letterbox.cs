using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Data;

/// <summary>
/// Where an image goes on the square canvas, with the geometry of ML.NET's <c>ResizeImages(…, ResizingKind.IsoPad)</c>
/// (measured on ML.NET 5.0.1, float32 arithmetic): scale = min(S/W, S/H), content W' = ⌊W·scale⌋ × H' = ⌊H·scale⌋,
/// placed at (⌊(S − W·scale)/2⌋, ⌊(S − H·scale)/2⌋), the rest black. Training, the eager detector and the ONNX graph
/// all use this, so that the saved ML.NET chain (IsoPad resize → pixels → ONNX) sees what training saw.
/// Box x maps to the content by x·W'/W (then + offset on the canvas), y likewise.
/// </summary>
internal readonly record struct Letterbox(int OriginalWidth, int OriginalHeight, int CanvasSize, int Width, int Height, int OffsetX, int OffsetY)
{
    public static Letterbox For(int width, int height, int canvasSize)
    {
        float scale = Math.Min((float)canvasSize / width, (float)canvasSize / height);
        float w = width * scale, h = height * scale;
        return new Letterbox(width, height, canvasSize, Math.Max(1, (int)w), Math.Max(1, (int)h), (int)((canvasSize - w) / 2),
            (int)((canvasSize - h) / 2));
    }

    public float ScaleX => (float)Width / OriginalWidth;
    public float ScaleY => (float)Height / OriginalHeight;

    /// <summary>x0 y0 x1 y1 of the content on the canvas: detections are clipped to it.</summary>
    public (float X0, float Y0, float X1, float Y1) Region => (OffsetX, OffsetY, OffsetX + Width, OffsetY + Height);

    /// <summary>Original-image boxes to content pixels (no offset), in place.</summary>
    public float[] OriginalToContent(float[] boxes)
    {
        for (int i = 0; i < boxes.Length; i++)
            boxes[i] *= i % 2 == 0 ? ScaleX : ScaleY;
        return boxes;
    }

    /// <summary>Content-pixel boxes back to the original image, in place.</summary>
    public float[] ContentToOriginal(float[] boxes)
    {
        for (int i = 0; i < boxes.Length; i++)
            boxes[i] /= i % 2 == 0 ? ScaleX : ScaleY;
        return boxes;
    }

    /// <summary>Content-pixel boxes to canvas pixels.</summary>
    public float[] ContentToCanvas(float[] boxes)
    {
        var result = new float[boxes.Length];
        for (int i = 0; i < boxes.Length; i++)
            result[i] = boxes[i] + (i % 2 == 0 ? OffsetX : OffsetY);
        return result;
    }

    /// <summary>Canvas-pixel boxes to the original image, clamped to it, in place.</summary>
    public float[] CanvasToOriginal(float[] boxes)
    {
        for (int i = 0; i < boxes.Length; i++)
        {
            bool x = i % 2 == 0;
            boxes[i] = Math.Clamp((boxes[i] - (x ? OffsetX : OffsetY)) / (x ? ScaleX : ScaleY), 0, x ? OriginalWidth : OriginalHeight);
        }
        return boxes;
    }

    /// <summary>(3, H', W') uint8 RGB of the image resized to the content size.</summary>
    public Tensor Resize(MLImage image)
    {
        using var scope = NewDisposeScope();
        var rgb = ImagePixels.ToRgbFloat(image);
        // (3, H, W) -> (1, 3, H, W) for interpolate, back to (3, H', W')
        var resized = Width == OriginalWidth && Height == OriginalHeight
            ? rgb
            : nn.functional.interpolate(rgb.unsqueeze(0), new long[] { Height, Width }, mode: InterpolationMode.Bilinear,
                align_corners: false, antialias: Width < OriginalWidth).squeeze(0);
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

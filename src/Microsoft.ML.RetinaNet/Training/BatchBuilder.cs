using Microsoft.ML.RetinaNet.Data;
using Microsoft.ML.RetinaNet.Detection;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Training;

/// <summary>Turns examples into a normalised, padded batch on the training device.</summary>
internal sealed class BatchBuilder
{
    private readonly int _canvasSize;
    private readonly Augmentation _augmentation;
    private readonly Device _device;

    public BatchBuilder(int canvasSize, Augmentation augmentation, Device device)
    {
        _canvasSize = canvasSize;
        _augmentation = augmentation;
        _device = device;
    }

    /// <summary>(N, 3, S, S) canvas of black (as ML.NET's IsoPad resize pads), normalised.</summary>
    public static Tensor Canvas(int count, int canvasSize)
    {
        using var scope = NewDisposeScope();
        var black = ImageNormalization.Apply(zeros(1, 3, 1, 1));
        return black.expand(count, 3, canvasSize, canvasSize).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Normalises a (3, h, w) image in [0, 1] into canvas slot <paramref name="index"/> with its top-left corner at
    /// (<paramref name="x"/>, <paramref name="y"/>); parts outside the canvas are cropped.
    /// </summary>
    public static void Place(Tensor canvas, int index, Tensor image, long x, long y)
    {
        using var scope = NewDisposeScope();
        long size = canvas.shape[2], h = image.shape[1], w = image.shape[2];
        long sx = Math.Max(0, -x), sy = Math.Max(0, -y), dx = Math.Max(0, x), dy = Math.Max(0, y);
        long cw = Math.Min(w - sx, size - dx), ch = Math.Min(h - sy, size - dy);
        if (cw <= 0 || ch <= 0) return;
        var source = ImageNormalization.Apply(image.narrow(1, sy, ch).narrow(2, sx, cw).unsqueeze(0)).squeeze(0);
        canvas[index].narrow(1, dy, ch).narrow(2, dx, cw).copy_(source);
    }

    public DetectionBatch Build(IReadOnlyList<DetectionExample> examples)
    {
        using var scope = NewDisposeScope();
        var images = Canvas(examples.Count, _canvasSize);
        var targets = new ImageTargets[examples.Count];
        for (int i = 0; i < examples.Count; i++)
        {
            var example = examples[i];
            var (image, boxes, kept) = _augmentation.Apply(example.Pixels.to(ScalarType.Float32).div_(255), example.Boxes, _canvasSize);
            long h = image.shape[1], w = image.shape[2];
            // unchanged size: the letterbox's own place; rescaled: centred the same way, cropped if larger than the canvas
            var lb = example.Letterbox;
            long x = w == lb.Width ? lb.OffsetX : (long)Math.Floor((_canvasSize - w) / 2.0);
            long y = h == lb.Height ? lb.OffsetY : (long)Math.Floor((_canvasSize - h) / 2.0);
            Place(images, i, image, x, y);
            var keptBoxes = new List<float>();
            var keptLabels = new List<long>();
            for (int k = 0; k < kept.Length; k++)
            {
                if (!kept[k]) continue;
                float x0 = Math.Clamp(boxes[4 * k] + x, 0, _canvasSize), y0 = Math.Clamp(boxes[4 * k + 1] + y, 0, _canvasSize);
                float x1 = Math.Clamp(boxes[4 * k + 2] + x, 0, _canvasSize), y1 = Math.Clamp(boxes[4 * k + 3] + y, 0, _canvasSize);
                if (x1 - x0 < 2 || y1 - y0 < 2) continue; // cropped away by the scale jitter
                keptBoxes.AddRange(new[] { x0, y0, x1, y1 });
                keptLabels.Add(example.Labels[k]);
            }
            targets[i] = new ImageTargets(
                tensor(keptBoxes.ToArray(), new long[] { keptLabels.Count, 4 }, device: _device).MoveToOuterDisposeScope(),
                tensor(keptLabels.ToArray(), device: _device).MoveToOuterDisposeScope());
        }
        return new DetectionBatch(images.to(_device).MoveToOuterDisposeScope(), targets);
    }
}

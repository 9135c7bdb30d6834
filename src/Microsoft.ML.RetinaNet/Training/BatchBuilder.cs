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

    /// <summary>(N, 3, S, S) canvas of zeros, the ImageNet mean after normalisation, as torchvision pads.</summary>
    public static Tensor Canvas(int count, int canvasSize) => zeros(count, 3, canvasSize, canvasSize);

    /// <summary>Normalises a (3, h, w) image in [0, 1] into the top-left corner of canvas slot <paramref name="index"/>.</summary>
    public static void Place(Tensor canvas, int index, Tensor image)
    {
        using var scope = NewDisposeScope();
        long h = image.shape[1], w = image.shape[2];
        canvas[index].narrow(1, 0, h).narrow(2, 0, w).copy_(ImageNormalization.Apply(image.unsqueeze(0)).squeeze(0));
    }

    public DetectionBatch Build(IReadOnlyList<DetectionExample> examples)
    {
        using var scope = NewDisposeScope();
        var images = Canvas(examples.Count, _canvasSize);
        var targets = new ImageTargets[examples.Count];
        var sizes = new (long, long)[examples.Count];
        for (int i = 0; i < examples.Count; i++)
        {
            var example = examples[i];
            var (image, boxes, kept) = _augmentation.Apply(example.Pixels.to(ScalarType.Float32).div_(255), example.Boxes, _canvasSize);
            long h = image.shape[1], w = image.shape[2];
            Place(images, i, image);
            var keptBoxes = new List<float>();
            var keptLabels = new List<long>();
            for (int k = 0; k < kept.Length; k++)
            {
                if (!kept[k]) continue;
                keptBoxes.AddRange(boxes.AsSpan(4 * k, 4).ToArray());
                keptLabels.Add(example.Labels[k]);
            }
            targets[i] = new ImageTargets(
                tensor(keptBoxes.ToArray(), new long[] { keptLabels.Count, 4 }, device: _device).MoveToOuterDisposeScope(),
                tensor(keptLabels.ToArray(), device: _device).MoveToOuterDisposeScope());
            sizes[i] = (h, w);
        }
        return new DetectionBatch(images.to(_device).MoveToOuterDisposeScope(), targets, sizes);
    }
}

using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Training;

/// <summary>ImageNet normalisation, as torchvision's GeneralizedRCNNTransform: (x − mean) / std on RGB in [0, 1].</summary>
internal static class ImageNormalization
{
    public static readonly float[] Mean = { 0.485f, 0.456f, 0.406f };
    public static readonly float[] Std = { 0.229f, 0.224f, 0.225f };

    /// <summary>(N, 3, H, W) RGB in [0, 1] -> normalised.</summary>
    public static Tensor Apply(Tensor rgb)
    {
        using var scope = NewDisposeScope();
        var mean = tensor(Mean, device: rgb.device).view(1, 3, 1, 1);
        var std = tensor(Std, device: rgb.device).view(1, 3, 1, 1);
        return ((rgb - mean) / std).MoveToOuterDisposeScope();
    }
}

using Microsoft.ML.RetinaNet.Detection;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Training;

/// <summary>
/// A batch ready for the network: (N, 3, H, W) images normalised with the ImageNet mean and std, and the targets of
/// each image in network-input pixels.
/// </summary>
internal sealed record DetectionBatch(Tensor Images, ImageTargets[] Targets) : IDisposable
{
    public void Dispose()
    {
        Images.Dispose();
        foreach (var t in Targets)
        {
            t.Boxes.Dispose();
            t.Labels.Dispose();
        }
    }
}

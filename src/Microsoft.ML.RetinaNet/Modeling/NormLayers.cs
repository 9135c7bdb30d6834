using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Modeling;

internal static class NormLayers
{
    public static nn.Module<Tensor, Tensor> Create(BackboneNorm norm, long channels) => norm switch
    {
        BackboneNorm.FrozenBatchNorm => new FrozenBatchNorm2d(channels),
        _ => nn.BatchNorm2d(channels),
    };
}

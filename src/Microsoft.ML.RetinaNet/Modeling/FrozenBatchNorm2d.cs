using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Modeling;

/// <summary>
/// BatchNorm2d whose statistics and affine parameters are fixed buffers, as torchvision's
/// <c>FrozenBatchNorm2d</c>: state_dict keys <c>weight</c>, <c>bias</c>, <c>running_mean</c>, <c>running_var</c>
/// (no <c>num_batches_tracked</c>). Used when fine-tuning from pretrained weights with small batches.
/// </summary>
internal sealed class FrozenBatchNorm2d : nn.Module<Tensor, Tensor>
{
    private readonly Tensor weight;
    private readonly Tensor bias;
    private readonly Tensor running_mean;
    private readonly Tensor running_var;
    private readonly double _eps;

    public FrozenBatchNorm2d(long numFeatures, double eps = 1e-5) : base(nameof(FrozenBatchNorm2d))
    {
        _eps = eps;
        weight = ones(numFeatures);
        bias = zeros(numFeatures);
        running_mean = zeros(numFeatures);
        running_var = ones(numFeatures);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        // (C) -> (1, C, 1, 1)
        var scale = weight * (running_var + _eps).rsqrt();
        var shift = bias - running_mean * scale;
        return (input * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1)).MoveToOuterDisposeScope();
    }
}

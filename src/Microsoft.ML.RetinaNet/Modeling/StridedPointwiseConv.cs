using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Modeling;

/// <summary>
/// The 1×1, stride-s, bias-free convolution of a ResNet <c>downsample</c> branch (state_dict key <c>weight</c>, as
/// torchvision's <c>downsample.0</c>), computed as every s-th pixel followed by a stride-1 1×1 convolution — the same
/// numbers, since a 1×1 kernel without padding only reads the pixels it lands on. Why: libtorch 2.10's oneDNN 3.7 sizes
/// its kernels from the CPU's cache sizes; where CPUID reports none (an AMD EPYC virtual machine here, cache-topology
/// leaf 0x8000001D all zeros) its strided backward-data convolution divides by zero for 1×1 stride-2 convolutions with
/// 512 or more input channels (ResNet-50/101/152's layer3 and layer4), killing the process with SIGFPE.
/// </summary>
internal sealed class StridedPointwiseConv : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly long _stride;

    public StridedPointwiseConv(long inChannels, long outChannels, long stride) : base(nameof(StridedPointwiseConv))
    {
        _stride = stride;
        weight = new Parameter(zeros(outChannels, inChannels, 1, 1)); // set by the network's initialisation or loaded weights
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        if (_stride == 1)
            return MixedPrecision.Conv(input, weight, null);
        using var scope = NewDisposeScope();
        var every = TensorIndex.Slice(null, null, _stride);
        return MixedPrecision.Conv(input[.., .., every, every], weight, null).MoveToOuterDisposeScope();
    }
}

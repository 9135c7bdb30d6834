using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Modeling;

/// <summary>
/// bfloat16 convolutions with float32 master weights, for training (TorchSharp 0.107 has no autocast). While a
/// <see cref="Use"/> scope is open on this thread, every convolution of the network — except the stem (3 input channels)
/// and the subnets' last two (<see cref="OutputConvolution"/>) — casts its input, weight and bias to bfloat16, convolves,
/// and casts the output back to float32: the weights stay float32 parameters (the casts are part of the autograd graph,
/// so their gradients arrive in float32); normalisation, activations, the losses and the optimiser run in float32.
/// Outside a scope nothing changes — the float32 path is the one the parity tests check.
/// </summary>
internal static class MixedPrecision
{
    /// <summary>Convolutions over fewer input channels (the stem's 3) stay float32; see <see cref="Conv"/>.</summary>
    public const int MinInputChannels = 16;

    [ThreadStatic]
    private static bool _bf16;

    /// <summary>Test hook: told the shape of every convolution run in bfloat16 on this thread.</summary>
    [ThreadStatic]
    internal static Action<ConvShape>? ObservedForTests;

    /// <summary>True while a bfloat16 scope is open on this thread.</summary>
    public static bool BFloat16 => _bf16;

    /// <summary>Convolutions in bfloat16 until the returned scope is disposed, when <paramref name="bf16"/> is true.</summary>
    public static IDisposable Use(bool bf16)
    {
        bool before = _bf16;
        _bf16 = bf16;
        return new Scope(before);
    }

    /// <summary><paramref name="module"/>.call(<paramref name="input"/>), with its convolutions in bfloat16 inside a scope.</summary>
    public static Tensor Apply(nn.Module<Tensor, Tensor> module, Tensor input)
    {
        if (!_bf16)
            return module.call(input);
        switch (module)
        {
            case Conv2d conv when conv.padding_mode == PaddingModes.Zeros && conv.padding is not null:
                return Conv(input, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups);
            case Sequential sequential:
                var x = input;
                foreach (var child in sequential.children())
                {
                    var next = Apply((nn.Module<Tensor, Tensor>)child, x);
                    if (!ReferenceEquals(x, input)) x.Dispose();
                    x = next;
                }
                return x;
            default:
                return module.call(input); // StridedPointwiseConv and OutputConvolution call Conv themselves
        }
    }

    /// <summary>nn.functional.conv2d, in bfloat16 with a float32 result inside a scope.</summary>
    public static Tensor Conv(Tensor input, Tensor weight, Tensor? bias, long[]? stride = null, long[]? padding = null, long[]? dilation = null,
        long groups = 1)
    {
        if (!_bf16 || weight.shape[1] < MinInputChannels)
            return nn.functional.conv2d(input, weight, bias, stride, padding, dilation, groups);
        ObservedForTests?.Invoke(new ConvShape(input.shape, weight.shape, stride ?? new long[] { 1, 1 }, padding ?? new long[] { 0, 0 }));
        using var scope = NewDisposeScope();
        var output = nn.functional.conv2d(input.to(ScalarType.BFloat16), weight.to(ScalarType.BFloat16), bias?.to(ScalarType.BFloat16),
            stride, padding, dilation, groups);
        return output.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    private sealed class Scope : IDisposable
    {
        private readonly bool _before;
        public Scope(bool before) => _before = before;
        public void Dispose() => _bf16 = _before;
    }
}

/// <summary>A convolution's input and weight shapes, stride and padding.</summary>
internal sealed record ConvShape(long[] Input, long[] Weight, long[] Stride, long[] Padding)
{
    public override string ToString() =>
        $"{Weight[1]}→{Weight[0]} {Weight[2]}×{Weight[3]}/{Stride[0]} over {Input[2]}×{Input[3]} (batch {Input[0]})";
}

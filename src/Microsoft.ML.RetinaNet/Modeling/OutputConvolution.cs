using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Modeling;

/// <summary>
/// The 3×3 "same" convolution that ends each subnet (<c>cls_logits</c>, <c>bbox_reg</c>), run so that its input gradient
/// is right. libtorch 2.10's CPU convolution (the one TorchSharp 0.107 ships) computes the gradient with respect to the
/// input wrongly — about 30 % off, now and then NaN — when the number of output channels is not a multiple of 16
/// (measured on an AVX-512 machine: 4, 8, 9, 12, 20, 24, 36, 40, 72, 819 wrong; 16, 32, 48, 64, 80, 96, 832 right;
/// weight gradients and the forward pass are right). The subnets end in A·K and A·4 channels (36 for 9 anchors and
/// 4 classes), so every gradient reaching the towers, the FPN and the backbone was wrong. While gradients are recorded
/// the filters are padded with zero filters up to a multiple of 16 and the extra channels cut off: the same outputs,
/// the right gradients, the same parameters (and state_dict keys and shapes). These two convolutions stay float32 in
/// bfloat16 training (<see cref="MixedPrecision"/>): oneDNN's bfloat16 convolution with such channel counts is wrong in
/// the forward pass too (8–14 % off, input gradient NaN), and 8-bit logits cost accuracy.
/// </summary>
internal static class OutputConvolution
{
    public const int ChannelMultiple = 16;

    public static Tensor Apply(TorchSharp.Modules.Conv2d conv, Tensor input)
    {
        var weight = conv.weight!;
        long outChannels = weight.shape[0];
        long padded = (outChannels + ChannelMultiple - 1) / ChannelMultiple * ChannelMultiple;
        if (padded == outChannels || !is_grad_enabled())
            return conv.call(input); // float32 also in bfloat16 training: the logits and box deltas keep their precision
        using var scope = NewDisposeScope();
        var zeroFilters = zeros(new[] { padded - outChannels, weight.shape[1], weight.shape[2], weight.shape[3] }, weight.dtype, weight.device);
        var paddedWeight = cat(new[] { weight, zeroFilters }, 0);
        var paddedBias = conv.bias is null ? null : cat(new[] { conv.bias, zeros(padded - outChannels, conv.bias.dtype, conv.bias.device) }, 0);
        long padH = weight.shape[2] / 2, padW = weight.shape[3] / 2;
        var output = nn.functional.conv2d(input, paddedWeight, paddedBias, padding: new[] { padH, padW });
        return output[.., ..(int)outChannels].MoveToOuterDisposeScope();
    }
}

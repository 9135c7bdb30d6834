using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Runtime;

/// <summary>Tensor to .NET array, empty tensors included (TorchSharp's accessor throws on those).</summary>
internal static class TensorArrays
{
    public static T[] ToArray<T>(this Tensor tensor) where T : unmanaged
    {
        if (tensor.numel() == 0)
            return Array.Empty<T>();
        using var contiguous = tensor.cpu().contiguous();
        return contiguous.data<T>().ToArray();
    }
}

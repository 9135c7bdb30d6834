using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Runtime;

/// <summary>
/// Tensor to .NET array, empty tensors included (TorchSharp's accessor throws on those), copied in one block from the
/// tensor's memory (the accessor's element-by-element ToArray took 2.2 ms for 100 000 floats).
/// </summary>
internal static class TensorArrays
{
    public static T[] ToArray<T>(this Tensor tensor) where T : unmanaged
    {
        if (tensor.numel() == 0)
            return Array.Empty<T>();
        using var contiguous = tensor.cpu().contiguous();
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(contiguous.bytes).ToArray();
    }
}

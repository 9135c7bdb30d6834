using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Runtime;

/// <summary>Chooses where tensors live: CUDA when asked for and available, else the CPU. Never assumes a GPU.</summary>
internal static class TorchDevice
{
    /// <param name="gpuDeviceId">ML.NET's <c>MLContext.GpuDeviceId</c>: null means CPU.</param>
    /// <param name="fallbackToCpu">ML.NET's <c>MLContext.FallbackToCpu</c>: use the CPU when the GPU cannot be used.</param>
    public static Device Select(int? gpuDeviceId, bool fallbackToCpu)
    {
        if (gpuDeviceId is null)
            return CPU;
        if (cuda.is_available() && gpuDeviceId.Value < cuda.device_count())
            return new Device(TorchSharp.DeviceType.CUDA, gpuDeviceId.Value);
        if (fallbackToCpu)
            return CPU;
        string why = cuda.is_available()
            ? $"this machine has {cuda.device_count()} CUDA device(s)"
            : "TorchSharp has no CUDA backend here (build with -p:TorchBackend=cuda on a machine with an NVIDIA driver)";
        throw new InvalidOperationException($"GPU {gpuDeviceId} was requested but {why}. Set MLContext.FallbackToCpu = true to train on the CPU "
            + $"instead.");
    }
}

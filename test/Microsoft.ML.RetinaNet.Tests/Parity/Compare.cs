using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Tests.Parity;

internal static class Compare
{
    /// <summary>max |actual − expected| / max |expected|: the error relative to the tensor's scale.</summary>
    public static double RelativeError(Tensor actual, Tensor expected)
    {
        Assert.Equal(expected.shape, actual.shape);
        if (expected.numel() == 0)
            return 0;
        double scale = Math.Max(expected.abs().max().to(ScalarType.Float64).item<double>(), 1e-12);
        return (actual.to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max().to(ScalarType.Float64).item<double>() / scale;
    }

    public static void Close(Tensor actual, Tensor expected, double tolerance, string what)
    {
        double error = RelativeError(actual, expected);
        Assert.True(error <= tolerance, $"{what}: relative error {error:E3} exceeds {tolerance:E1}");
    }
}

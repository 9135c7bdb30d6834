using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Tests;

public class TorchLoadsTests
{
    [Fact]
    public void CreatingATensorProvesLibTorchLoads()
    {
        using var t = arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        Assert.Equal(15f, t.sum().item<float>());
    }
}

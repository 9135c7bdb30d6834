using Microsoft.ML.RetinaNet.Build;
using Microsoft.ML.RetinaNet.Runtime;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests.Runtime;

/// <summary>What the library does at start-up for TorchSharp's native library and libtorch's log level.</summary>
public sealed class TorchNativeLibraryTests
{
    [Fact]
    public void TheStartUpCheckSaysWhatItDidAndTorchLoads()
    {
        using var t = TorchSharp.torch.ones(2, 3);
        Assert.Equal(6f, t.sum().item<float>());
        string status = TorchNativeLibrary.Status;
        Assert.DoesNotContain("could not", status);
        if (ElfVersionPatcher.HostLibStdCxxHas(ElfVersionPatcher.RequiredVersion, out _))
            Assert.StartsWith("not needed (the host's libstdc++ has", status);
        else // this test's output folder holds the copy the build patched, so nothing is left to do at run time
            Assert.Matches("^not needed \\(.*libLibTorchSharp.so is already patched\\)$|^patched copy ", status);
    }

    [Fact]
    public void LibTorchWarningsAreRaisedToErrorUnlessTheUserChoseALevel()
    {
        _ = TorchNativeLibrary.Status; // the module initializer has run
        int? level = TorchNativeLibrary.LibTorchLogLevel();
        Assert.NotNull(level);
        if (Environment.GetEnvironmentVariable("TORCH_CPP_LOG_LEVEL") is not { Length: > 0 })
            Assert.Equal(2, level); // ERROR: NNPACK's "Unsupported hardware" warnings stay out of the output
    }
}

using Microsoft.ML.RetinaNet.Build;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests.Build;

public class LibStdCxxCompatTests
{
    private static string PackagedLibTorchSharp()
    {
        string path = Path.Combine(Microsoft.ML.RetinaNet.Runtime.NuGetCache.Root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(path), $"TorchSharp's native library was expected at {path}");
        return path;
    }

    [Fact]
    public void PatchMakesTheRequirementWeakOnceAndOnlyTouchesVersionBytes()
    {
        byte[] original = File.ReadAllBytes(PackagedLibTorchSharp());
        byte[] patched = (byte[])original.Clone();

        Assert.True(ElfVersionPatcher.Patch(patched, ElfVersionPatcher.RequiredVersion));
        Assert.False(ElfVersionPatcher.Patch(patched, ElfVersionPatcher.RequiredVersion)); // idempotent

        // One vna_flags u16 (weak bit) and one .gnu.version u16 per symbol bound to the version: a handful of bytes.
        int changedBytes = original.Zip(patched).Count(p => p.First != p.Second);
        Assert.InRange(changedBytes, 2, 6);
        Assert.Equal(original.Length, patched.Length);
    }

    [Fact]
    public void PatchLeavesAFileWithoutThatRequirementAlone()
    {
        byte[] bytes = File.ReadAllBytes(PackagedLibTorchSharp());
        Assert.False(ElfVersionPatcher.Patch(bytes, "GLIBCXX_99.0.0"));
    }

    [Fact]
    public void PatchRejectsAFileThatIsNotElf()
    {
        var error = Assert.Throws<InvalidDataException>(() => ElfVersionPatcher.Patch(new byte[128], ElfVersionPatcher.RequiredVersion));
        Assert.Contains("not an ELF file", error.Message);
    }
}

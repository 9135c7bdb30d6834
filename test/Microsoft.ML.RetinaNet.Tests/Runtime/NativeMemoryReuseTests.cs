using System.Runtime.InteropServices;
using Microsoft.ML.RetinaNet.Runtime;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Tests.Runtime;

/// <summary>
/// <see cref="NativeMemoryReuse"/>: outside a scope glibc serves a 40 MiB tensor with its own mmap (unmapped again on
/// free, so every step faults its pages in anew); inside, with no mmap allowed, from the heap, where freed blocks are
/// kept for the next step. Observed through glibc's own counters (mallinfo2: hblks = blocks currently mmapped). Runs
/// in the non-parallel collection: mallopt is process-wide and other tests' trainings open scopes too. (The effect on
/// speed is a benchmark figure: BENCHMARKS.md, training step with and without.)
/// </summary>
[Xunit.Collection(Estimator.BitExactTrainingCollection.Name)]
public sealed class NativeMemoryReuseTests
{
    private const long Floats = 10L << 20; // 40 MiB: above glibc's largest dynamic mmap threshold (32 MiB)

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena, OrdBlks, SmBlks, HBlks, HBlkHd, UsmBlks, FsmBlks, UordBlks, FordBlks, KeepCost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallInfo2 Info();

    /// <summary>How many more blocks glibc has mmapped while a 40 MiB tensor is alive.</summary>
    private static long MappedBlocksForATensor()
    {
        long before = (long)Info().HBlks;
        using var tensor = zeros(Floats);
        return (long)Info().HBlks - before;
    }

    [Fact]
    public void InsideAScopeLargeTensorsComeFromTheHeapInsteadOfTheirOwnMmap()
    {
        MappedBlocksForATensor(); // the first tensor also initialises libtorch (more blocks)
        Assert.Equal(1, MappedBlocksForATensor());
        using (NativeMemoryReuse.Begin(enabled: true))
        {
            Assert.True(NativeMemoryReuse.Active);
            Assert.Equal(0, MappedBlocksForATensor());
        }
        Assert.False(NativeMemoryReuse.Active);
        Assert.Equal(1, MappedBlocksForATensor());
    }

    [Fact]
    public void ScopesNestAndADisabledScopeChangesNothing()
    {
        using (NativeMemoryReuse.Begin(enabled: false))
            Assert.False(NativeMemoryReuse.Active);
        var outer = NativeMemoryReuse.Begin(enabled: true);
        using (NativeMemoryReuse.Begin(enabled: true)) { }
        Assert.Equal(OperatingSystem.IsLinux(), NativeMemoryReuse.Active);
        outer.Dispose();
        outer.Dispose(); // a second dispose is harmless
        Assert.False(NativeMemoryReuse.Active);
    }
}

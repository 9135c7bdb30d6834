using System.Runtime.InteropServices;
using Microsoft.ML.RetinaNet.Runtime;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Tests.Runtime;

/// <summary>
/// <see cref="NativeMemoryReuse"/>: outside a scope glibc gives a 40 MiB block its own mmap once no free heap block is
/// large enough (it is unmapped again on free, so every training step faults its pages in anew); inside, with no mmap
/// allowed, the same allocations come from the heap, where freed blocks are kept for the next step. Observed through
/// glibc's own counter (mallinfo2's hblks: blocks currently mmapped). Runs in the non-parallel collection: mallopt is
/// process-wide and other tests' trainings open scopes too. (The effect on speed is a benchmark figure: BENCHMARKS.md,
/// the training step with and without.)
/// </summary>
[Xunit.Collection(Estimator.BitExactTrainingCollection.Name)]
public sealed class NativeMemoryReuseTests
{
    // 40 MiB: above glibc's largest dynamic mmap threshold (32 MiB), and small enough for a thread arena's 64 MiB heap
    // (test threads are not the process's main thread; blocks too large for a heap are always mmapped there)
    private const long Floats = 10L << 20;

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena, OrdBlks, SmBlks, HBlks, HBlkHd, UsmBlks, FsmBlks, UordBlks, FordBlks, KeepCost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallInfo2 Info();

    private static long MappedBlocks() => (long)Info().HBlks;

    [Fact]
    public void InsideAScopeLargeTensorsComeFromTheHeapInsteadOfTheirOwnMmap()
    {
        using (zeros(Floats)) { } // the first tensor also initialises libtorch
        var held = new List<Tensor>();
        try
        {
            // outside: free heap blocks left by earlier tests serve the first tensors; hold them until glibc mmaps one
            long before = MappedBlocks();
            while (MappedBlocks() == before)
            {
                Assert.True(held.Count < 200, "glibc never mmapped a 40 MiB block outside the scope");
                held.Add(zeros(Floats));
            }
            int outside = held.Count;
            held.ForEach(t => t.Dispose());
            held.Clear();

            using (NativeMemoryReuse.Begin(enabled: true))
            {
                Assert.True(NativeMemoryReuse.Active);
                before = MappedBlocks();
                for (int i = 0; i < outside + 3; i++)
                    held.Add(zeros(Floats));
                Assert.True(MappedBlocks() == before, $"{MappedBlocks() - before} of {outside + 3} tensors were mmapped inside the scope (outside, the {outside}th was)");
                held.ForEach(t => t.Dispose());
                held.Clear();
            }
            Assert.False(NativeMemoryReuse.Active);
        }
        finally
        {
            held.ForEach(t => t.Dispose());
        }
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

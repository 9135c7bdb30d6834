using System.Runtime.InteropServices;

namespace Microsoft.ML.RetinaNet.Runtime;

/// <summary>
/// While training, asks glibc's malloc to keep freed memory for reuse instead of handing it back to the kernel.
/// libtorch allocates every activation and gradient of a step with malloc; by default glibc serves blocks above its
/// mmap threshold (dynamic, at most 32 MiB) with their own mmap, unmapped again on free, and trims the heap top, so
/// every step page-faults (and the kernel zeroes) hundreds of MiB anew. For the duration of training this sets
/// M_MMAP_MAX = 0 (no mmapped blocks: large ones come from the heap too; mallopt refuses an mmap threshold above 32
/// MiB), M_TRIM_THRESHOLD = 1 GiB (freed heap tops are kept) and M_TOP_PAD = 64 MiB (a thread arena keeps a heap that
/// became free). On the 2-core benchmark machine a ResNet-50-FPN 512² batch-2 step went from a median of 4.7 s (3.7–10
/// s, 21 s of 97 s CPU time in the kernel) to 2.5 s (6 s of 57 s in the kernel), peak memory +2 % on the main thread
/// (+25 % on another thread); see BENCHMARKS.md. Afterwards M_MMAP_MAX goes back to glibc's default, the thresholds to
/// its largest dynamic values (trim 64 MiB, top pad 128 KiB) and the kept memory is trimmed. mallopt is process-wide;
/// elsewhere than Linux/glibc this does nothing.
/// </summary>
internal static class NativeMemoryReuse
{
    private const int TrimThreshold = -1, TopPad = -2, MmapMax = -4; // M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX
    private const int Keep = 1 << 30;
    // A thread arena's heaps are at most 64 MiB; a top pad that large keeps glibc from deleting a heap that became
    // free (heap_trim), so threads other than the main one reuse their blocks too.
    private const int ThreadHeap = 64 << 20;
    private static readonly object Gate = new();
    private static int _holders;

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallOpt(int parameter, int value);

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    /// <summary>True while at least one <see cref="Begin"/> scope is open and mallopt accepted the settings.</summary>
    public static bool Active { get; private set; }

    /// <summary>Keeps freed memory until the returned scope is disposed (scopes nest; the last one restores).</summary>
    public static IDisposable Begin(bool enabled)
    {
        if (!enabled || !OperatingSystem.IsLinux())
            return new Scope(false);
        lock (Gate)
        {
            if (_holders++ == 0)
                Active = Try(() => MallOpt(MmapMax, 0) == 1 && MallOpt(TrimThreshold, Keep) == 1 && MallOpt(TopPad, ThreadHeap) == 1);
        }
        return new Scope(true);
    }

    private static bool Try(Func<bool> call)
    {
        try
        {
            return call();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // not glibc (musl has no mallopt): nothing to tune
        }
    }

    private sealed class Scope : IDisposable
    {
        private bool _open;

        public Scope(bool open) => _open = open;

        public void Dispose()
        {
            if (!_open) return;
            _open = false;
            lock (Gate)
            {
                if (--_holders > 0 || !Active) return;
                Active = false;
                Try(() => MallOpt(MmapMax, 65536) == 1 && MallOpt(TrimThreshold, 64 << 20) == 1 && MallOpt(TopPad, 128 << 10) == 1
                    && MallocTrim(0) >= 0);
            }
        }
    }
}

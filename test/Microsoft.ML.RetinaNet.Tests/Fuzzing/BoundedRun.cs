using Xunit.Sdk;

namespace Microsoft.ML.RetinaNet.Tests.Fuzzing;

/// <summary>What one fuzz case did.</summary>
internal enum FuzzOutcome
{
    Accepted,
    Rejected,
}

/// <summary>
/// Runs one fuzz case on its own thread with a time limit and counts the bytes it allocates: a reader must finish,
/// allocate within its bound, and either succeed or throw the library's documented error type.
/// </summary>
internal static class BoundedRun
{
    public static FuzzOutcome Check<TDocumented>(Action run, string what, TimeSpan timeout, long maxAllocatedBytes) where TDocumented : Exception
    {
        Exception? error = null;
        long allocated = 0;
        var thread = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                run();
            }
            catch (Exception e)
            {
                error = e;
            }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }) { IsBackground = true };
        thread.Start();
        if (!thread.Join(timeout))
            throw new XunitException($"{what}: still running after {timeout.TotalSeconds:F0} s (a hang)");
        if (allocated > maxAllocatedBytes)
            throw new XunitException($"{what}: allocated {allocated / 1e6:F1} MB, more than the {maxAllocatedBytes / 1e6:F0} MB bound");
        if (error is null)
            return FuzzOutcome.Accepted;
        if (error is TDocumented)
            return FuzzOutcome.Rejected;
        throw new XunitException($"{what}: threw {error.GetType().FullName}, not {typeof(TDocumented).Name}: {error.Message}\n{error.StackTrace}");
    }
}

namespace Microsoft.ML.RetinaNet.Benchmarks.Workloads;

/// <summary>One repeatable piece of work, set up once; <see cref="Run"/> is what is timed.</summary>
internal interface IWorkload : IDisposable
{
    /// <summary>How many images one <see cref="Run"/> handles (to turn times into per-image figures); 1 when not about images.</summary>
    int Images => 1;

    void Run();
}

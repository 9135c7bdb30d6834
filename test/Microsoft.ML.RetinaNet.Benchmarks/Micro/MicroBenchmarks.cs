using BenchmarkDotNet.Attributes;
using Microsoft.ML.RetinaNet.Benchmarks.Workloads;

namespace Microsoft.ML.RetinaNet.Benchmarks.Micro;

/// <summary>
/// BenchmarkDotNet figures for the small pieces (run: <c>dotnet run -c Release --project test/Microsoft.ML.RetinaNet.Benchmarks -- micro --filter '*'</c>):
/// NMS, anchor generation + matching and anchor coverage, with BenchmarkDotNet's statistics and allocation counts.
/// The comparison with torchvision is the runner's job (it needs the interleaving); these track our own numbers.
/// </summary>
[MemoryDiagnoser]
public class DetectionMicroBenchmarks
{
    private BenchmarkData _data = null!;
    private NmsWorkload _nms = null!;
    private AnchorMatchingWorkload _fresh = null!, _cached = null!;
    private CoverageWorkload _coverage = null!;

    [GlobalSetup]
    public void Setup()
    {
        TorchSharp.torch.set_num_threads(Environment.ProcessorCount);
        _data = new BenchmarkData();
        _nms = new NmsWorkload(_data.NmsBoxes(20_000, BenchmarkData.Classes), 20_000, 0.5);
        var boxes = BenchmarkData.GroundTruth(1, 512)[0];
        _fresh = new AnchorMatchingWorkload(512, boxes, cached: false);
        _cached = new AnchorMatchingWorkload(512, boxes, cached: true);
        _coverage = new CoverageWorkload(100_000);
    }

    [Benchmark]
    public long ClassWiseNms20000Boxes()
    {
        _nms.Run();
        return _nms.Kept;
    }

    [Benchmark]
    public long AnchorsAndMatching512()
    {
        _fresh.Run();
        return _fresh.Positives;
    }

    [Benchmark]
    public long CachedAnchorsAndMatching512()
    {
        _cached.Run();
        return _cached.Positives;
    }

    [Benchmark]
    public double Coverage100000Boxes()
    {
        _coverage.Run();
        return _coverage.CoveredFraction;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _nms.Dispose();
        _fresh.Dispose();
        _cached.Dispose();
        _coverage.Dispose();
        _data.Dispose();
    }
}

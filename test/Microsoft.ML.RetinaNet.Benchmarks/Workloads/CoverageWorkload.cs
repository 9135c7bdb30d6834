using Microsoft.ML.RetinaNet.AnchorTuning;

namespace Microsoft.ML.RetinaNet.Benchmarks.Workloads;

/// <summary>Exact anchor coverage (best IoU and positives per box against every anchor of a 512² canvas) for many boxes.</summary>
internal sealed class CoverageWorkload : IWorkload
{
    private readonly BoxSet _boxes;

    public CoverageWorkload(int count, int size = 512)
    {
        var random = new Random(3);
        var boxes = new float[4 * count];
        for (int i = 0; i < count; i++)
        {
            // log-uniform sizes from 4 to 400 pixels and aspect ratios from 1:10 to 10:1, as in a varied dataset
            double area = Math.Exp(Math.Log(16) + random.NextDouble() * (Math.Log(160_000) - Math.Log(16)));
            double ratio = Math.Exp((random.NextDouble() * 2 - 1) * Math.Log(10));
            double w = Math.Min(size, Math.Sqrt(area / ratio)), h = Math.Min(size, Math.Sqrt(area * ratio));
            double x = random.NextDouble() * (size - w), y = random.NextDouble() * (size - h);
            (boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]) = ((float)x, (float)y, (float)(x + w), (float)(y + h));
        }
        _boxes = new BoxSet(boxes, Enumerable.Range(0, count).Select(i => i % 3).ToArray(), new[] { "a", "b", "c" });
        Size = size;
    }

    public int Size { get; }

    public double CoveredFraction { get; private set; }

    public void Run() => CoveredFraction = AnchorCoverage.Compute(new AnchorOptions(), _boxes, Size).CoveredFraction;

    public void Dispose() { }
}

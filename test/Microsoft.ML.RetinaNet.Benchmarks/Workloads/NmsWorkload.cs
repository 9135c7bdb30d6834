using Microsoft.ML.RetinaNet.Detection;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Benchmarks.Workloads;

/// <summary>Class-wise NMS (<see cref="Nms.Batched"/>, IoU 0.5) over the boxes of a file from <see cref="BenchmarkData.NmsBoxes"/>.</summary>
internal sealed class NmsWorkload : IWorkload
{
    private readonly Tensor _boxes, _scores, _labels;
    private readonly double _iou;

    public NmsWorkload(string file, int count, double iou)
    {
        using var rows = tensor(BenchmarkData.ReadNmsBoxes(file), new long[] { count, 6 });
        _boxes = rows.narrow(1, 0, 4).contiguous();
        _scores = rows.select(1, 4).contiguous();
        _labels = rows.select(1, 5).to(ScalarType.Int64);
        _iou = iou;
    }

    /// <summary>How many boxes the last run kept.</summary>
    public long Kept { get; private set; }

    public void Run()
    {
        using var kept = Nms.Batched(_boxes, _scores, _labels, _iou);
        Kept = kept.shape[0];
    }

    public void Dispose()
    {
        _boxes.Dispose();
        _scores.Dispose();
        _labels.Dispose();
    }
}

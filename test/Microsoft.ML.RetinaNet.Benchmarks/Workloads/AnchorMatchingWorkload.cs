using Microsoft.ML.RetinaNet.Detection;
using Microsoft.ML.RetinaNet.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Benchmarks.Workloads;

/// <summary>
/// Anchor generation for one image and the matching of its boxes to them (IoU matrix + matcher with low-quality
/// matches), as a training step does it. <paramref name="cached"/> false builds a new generator each run, so the
/// anchors are computed every time (what torchvision does every step); true is what our trainer does (anchors cached
/// per image size).
/// </summary>
internal sealed class AnchorMatchingWorkload : IWorkload
{
    private readonly int _size;
    private readonly bool _cached;
    private readonly ImageTargets _targets;
    private readonly DetectionLoss _loss = new(new LossSettings());
    private readonly AnchorGenerator _generator = new(new AnchorOptions());

    public AnchorMatchingWorkload(int size, float[] boxes, bool cached)
    {
        _size = size;
        _cached = cached;
        _targets = new ImageTargets(tensor(boxes, new long[] { boxes.Length / 4, 4 }), zeros(boxes.Length / 4, dtype: ScalarType.Int64));
    }

    public long Positives { get; private set; }

    public void Run()
    {
        using var scope = NewDisposeScope();
        var levels = NetworkConfig.LevelSizes(_size, _size);
        AnchorGenerator? fresh = _cached ? null : new AnchorGenerator(new AnchorOptions());
        try
        {
            var anchors = (fresh ?? _generator).Generate(levels, (_size, _size), CPU);
            var matched = _loss.MatchAnchors(anchors, _targets);
            Positives = (matched >= 0).sum().item<long>();
        }
        finally
        {
            fresh?.Dispose();
        }
    }

    public void Dispose()
    {
        _generator.Dispose();
        _targets.Boxes.Dispose();
        _targets.Labels.Dispose();
    }
}

using Microsoft.ML.RetinaNet.Detection;
using Microsoft.ML.RetinaNet.Modeling;
using Microsoft.ML.RetinaNet.Runtime;
using Microsoft.ML.RetinaNet.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Benchmarks.Workloads;

/// <summary>
/// One training step exactly as the trainer runs it (<see cref="TrainingStep"/>: forward, anchors, matching, focal and
/// L1 loss, backward, SGD lr 0.01 momentum 0.9 weight decay 1e-4, no clipping — torchvision's reference recipe) on a
/// batch of random images with <see cref="BenchmarkData.BoxesPerImage"/> boxes each, already normalised (the loader is
/// measured on its own). Like <c>Fit</c>, it keeps freed native memory for reuse (<see cref="NativeMemoryReuse"/>)
/// unless <c>reuseNativeMemory</c> is false.
/// </summary>
internal sealed class TrainStepWorkload : IWorkload
{
    private readonly RetinaNetNetwork _network;
    private readonly AnchorGenerator _anchors;
    private readonly optim.Optimizer _optimizer;
    private readonly TrainingStep _step;
    private readonly DetectionBatch _batch;
    private readonly IDisposable _memory;

    public TrainStepWorkload(int depth, int size, int batch, float[][] boxes, bool reuseNativeMemory = true, TrainingPrecision precision = TrainingPrecision.Float32)
    {
        _memory = NativeMemoryReuse.Begin(reuseNativeMemory);
        Images = batch;
        _network = Networks.Fresh(depth);
        _anchors = new AnchorGenerator(new AnchorOptions());
        var trainable = _network.parameters().Where(p => p.requires_grad).ToList();
        _optimizer = optim.SGD(trainable, 0.01, momentum: 0.9, weight_decay: 1e-4);
        _step = new TrainingStep(_network, _anchors, new DetectionLoss(new LossSettings()), _optimizer, gradientClipNorm: 0, precision);
        var generator = new Generator(1);
        var images = ImageNormalization.Apply(rand(new long[] { batch, 3, size, size }, generator: generator));
        var targets = Enumerable.Range(0, batch).Select(i => new ImageTargets(
            tensor(boxes[i], new long[] { boxes[i].Length / 4, 4 }),
            tensor(Enumerable.Range(0, boxes[i].Length / 4).Select(k => (long)(k % BenchmarkData.Classes)).ToArray()))).ToArray();
        _batch = new DetectionBatch(images, targets);
        generator.Dispose();
    }

    public int Images { get; }

    /// <summary>The last step's total loss (kept so the work cannot be skipped, and checked to be finite).</summary>
    public float LastLoss { get; private set; }

    public void Run()
    {
        LastLoss = _step.Run(_batch).Total;
        if (!float.IsFinite(LastLoss))
            throw new InvalidOperationException($"The benchmark's training step gave a loss of {LastLoss}.");
    }

    public void Dispose()
    {
        _batch.Dispose();
        _optimizer.Dispose();
        _anchors.Dispose();
        _network.Dispose();
        _memory.Dispose();
    }
}

using Microsoft.ML.RetinaNet.Detection;
using Microsoft.ML.RetinaNet.Modeling;
using Microsoft.ML.RetinaNet.Runtime;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Training;

/// <summary>Losses of one step, read from the device once.</summary>
internal readonly record struct StepLosses(float Classification, float Box)
{
    public float Total => Classification + Box;
}

/// <summary>
/// One optimisation step of RetinaNet: forward, anchors, loss, backward, optional gradient clipping, optimiser
/// step. All tensors of the step live in one dispose scope, so memory stays flat over an epoch.
/// </summary>
internal sealed class TrainingStep
{
    private readonly RetinaNetNetwork _network;
    private readonly AnchorGenerator _anchors;
    private readonly DetectionLoss _loss;
    private readonly optim.Optimizer _optimizer;
    private readonly double _gradientClipNorm;
    private readonly TorchSharp.Modules.Parameter[] _trainable;
    private readonly bool _bf16;

    public TrainingStep(RetinaNetNetwork network, AnchorGenerator anchors, DetectionLoss loss, optim.Optimizer optimizer, double gradientClipNorm = 0,
                        TrainingPrecision precision = TrainingPrecision.Float32)
    {
        _bf16 = precision == TrainingPrecision.BFloat16;
        _network = network;
        _anchors = anchors;
        _loss = loss;
        _optimizer = optimizer;
        _gradientClipNorm = gradientClipNorm;
        _trainable = network.parameters().Where(p => p.requires_grad).ToArray();
    }

    public StepLosses Run(DetectionBatch batch)
    {
        using var scope = NewDisposeScope();
        _network.train();
        _optimizer.zero_grad();
        NetworkOutput output;
        using (MixedPrecision.Use(_bf16)) // convolutions in bfloat16 when asked; losses and optimiser in float32
            output = _network.call(batch.Images);
        var anchors = _anchors.Generate(output.LevelSizes, (batch.Images.shape[2], batch.Images.shape[3]), batch.Images.device);
        var (cls, box) = _loss.Compute(output.ClassLogits, output.BoxRegression, anchors, batch.Targets);
        var total = cls + box;
        total.backward();
        if (_gradientClipNorm > 0)
            nn.utils.clip_grad_norm_(_trainable, _gradientClipNorm);
        _optimizer.step();
        // one host synchronisation per step: both scalars at once
        var values = stack(new[] { cls.detach(), box.detach() }).ToArray<float>();
        return new StepLosses(values[0], values[1]);
    }
}

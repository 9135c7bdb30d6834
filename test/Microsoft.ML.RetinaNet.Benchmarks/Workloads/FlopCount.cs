using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Benchmarks.Workloads;

/// <summary>
/// Floating-point operations of a RetinaNet forward pass, counted from the layer shapes of one real forward pass: every
/// leaf module with a 4-D weight (the convolutions, including the strided 1×1 downsample and the subnets' last
/// convolutions) adds 2 × output elements × (input channels / groups) × kernel height × kernel width. Normalisation,
/// activations, pooling and the additions are left out (under 2 % of the total). A training step is counted as 3 × the
/// forward pass (the backward pass computes the input and the weight gradients, each about one forward), the usual count.
/// </summary>
internal static class FlopCount
{
    public static double Forward(int depth, int size, int batch)
    {
        using var network = Networks.Fresh(depth);
        network.eval();
        double flops = 0;
        var hooks = new List<Action>();
        foreach (var (_, module) in network.named_modules())
        {
            if (module.children().Any() || module is not nn.Module<Tensor, Tensor> leaf)
                continue;
            var weight = module.named_parameters(recurse: false).FirstOrDefault(p => p.name == "weight").parameter;
            if (weight is null || weight.dim() != 4)
                continue;
            long perOutput = weight.shape[1] * weight.shape[2] * weight.shape[3];
            var remover = leaf.register_forward_hook((_, _, output) =>
            {
                flops += 2.0 * output.numel() * perOutput;
                return output;
            });
            hooks.Add(remover.remove);
        }
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            network.call(zeros(batch, 3, size, size));
        }
        finally
        {
            foreach (var remove in hooks) remove();
        }
        return flops;
    }

    public static double TrainingStep(int depth, int size, int batch) => 3 * Forward(depth, size, batch);
}

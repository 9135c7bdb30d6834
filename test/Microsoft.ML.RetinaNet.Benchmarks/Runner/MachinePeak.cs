using System.Diagnostics;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Benchmarks.Runner;

/// <summary>
/// What these cores can do, measured once per run through libtorch (the kernels both sides use): the best of a large
/// matrix multiplication (2048³) and the subnets' 3×3 256→256 convolution at P3 sizes (64² batch 1 and 2, 32² batch 8),
/// in float32 and bfloat16, as GFLOP/s (2 operations per multiply-add of a direct convolution). A workload's achieved
/// GFLOP/s over this peak says how much room is left.
/// </summary>
internal sealed record MachinePeak(double Fp32Gemm, double Fp32Conv, double Bf16Gemm, double Bf16Conv)
{
    public double Fp32 => Math.Max(Fp32Gemm, Fp32Conv);
    public double Bf16 => Math.Max(Bf16Gemm, Bf16Conv);

    public static MachinePeak Measure()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        const int n = 2048;
        var a = randn(n, n);
        var b = randn(n, n);
        double gemmFlops = 2.0 * n * n * n;
        double fp32Gemm = Best(() => a.matmul(b), gemmFlops);
        var a16 = a.to(ScalarType.BFloat16);
        var b16 = b.to(ScalarType.BFloat16);
        double bf16Gemm = Best(() => a16.matmul(b16), gemmFlops);
        // the subnets' 3×3 256→256 convolution, which is most of a RetinaNet's work, at the P3 level's sizes; oneDNN may
        // use a Winograd algorithm, whose rate in direct-convolution FLOPs can exceed the GEMM rate
        double fp32Conv = 0, bf16Conv = 0;
        var w = randn(256, 256, 3, 3);
        var w16 = w.to(ScalarType.BFloat16);
        foreach (var (batch, side) in new[] { (1, 64), (2, 64), (8, 32) })
        {
            var x = randn(batch, 256, side, side);
            var x16 = x.to(ScalarType.BFloat16);
            double flops = 2.0 * batch * 256 * side * side * 256 * 9;
            fp32Conv = Math.Max(fp32Conv, Best(() => nn.functional.conv2d(x, w, padding: new long[] { 1, 1 }), flops));
            bf16Conv = Math.Max(bf16Conv, Best(() => nn.functional.conv2d(x16, w16, padding: new long[] { 1, 1 }), flops));
        }
        return new MachinePeak(fp32Gemm, fp32Conv, bf16Gemm, bf16Conv);
    }

    /// <summary>GFLOP/s of the fastest of 5 runs after 2 warm-up runs.</summary>
    private static double Best(Func<Tensor> run, double flops)
    {
        for (int i = 0; i < 2; i++)
            run().Dispose();
        double best = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            run().Dispose();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return flops / best / 1e9;
    }
}

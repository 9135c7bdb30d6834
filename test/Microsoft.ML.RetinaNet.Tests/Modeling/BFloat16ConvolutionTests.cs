using Microsoft.ML.RetinaNet.Modeling;
using Microsoft.ML.RetinaNet.Tests.Parity;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Tests.Modeling;

/// <summary>
/// The bfloat16 training path against float32, convolution by convolution: every convolution shape a network runs in
/// bfloat16 (captured from a real forward pass) gives the float32 output, input gradient and weight gradient within
/// bfloat16's rounding. oneDNN's float32 kernels had wrong gradients on these CPUs for some shapes, and its bfloat16
/// kernels are wrong (output 8–14 % off, input gradient NaN) when the output channels are not a multiple of 16 — the
/// subnets' last convolutions — so those must not run in bfloat16 at all.
/// </summary>
public sealed class BFloat16ConvolutionTests
{
    private readonly ITestOutputHelper _output;

    public BFloat16ConvolutionTests(ITestOutputHelper output) => _output = output;

    /// <summary>bfloat16 keeps 8 significant bits: measured here at most 4.9e-3 of a tensor's largest value.</summary>
    private const double Tolerance = 1.5e-2;

    private static List<ConvShape> ShapesRunInBFloat16(NetworkConfig config, int size)
    {
        var shapes = new List<ConvShape>();
        using var scope = NewDisposeScope();
        using var network = new RetinaNetNetwork(config);
        network.train();
        MixedPrecision.ObservedForTests = shapes.Add;
        try
        {
            using (MixedPrecision.Use(true))
                network.call(randn(1, 3, size, size));
        }
        finally
        {
            MixedPrecision.ObservedForTests = null;
        }
        return shapes.DistinctBy(s => s.ToString()).ToList();
    }

    [Theory]
    [InlineData(18, RetinaNetVersion.V1, 384)] // the main job's network
    [InlineData(50, RetinaNetVersion.V1, 256)] // bottlenecks and the strided 1×1 downsample
    [InlineData(18, RetinaNetVersion.V2, 256)] // P6 from C5, GroupNorm heads
    public void EveryBFloat16ConvolutionOfTheNetworkFollowsFloat32(int depth, RetinaNetVersion version, int size)
    {
        var shapes = ShapesRunInBFloat16(new NetworkConfig(4, depth, version), size);
        // the stem (3 input channels) and the subnets' last convolutions (36 and 36 output channels) stay float32
        Assert.DoesNotContain(shapes, s => s.Weight[1] < MixedPrecision.MinInputChannels);
        Assert.All(shapes, s => Assert.True(s.Weight[0] % 16 == 0, $"{s} runs in bfloat16 with output channels not a multiple of 16"));
        Assert.Contains(shapes, s => s.Weight[0] == 256 && s.Weight[1] == 256 && s.Input[2] == size / 128); // a tower at P7
        Assert.Contains(shapes, s => s.Stride[0] == 2);
        using var generator = new Generator(5);
        foreach (var shape in shapes)
        {
            using var scope = NewDisposeScope();
            var x = randn(shape.Input, generator: generator);
            var w = randn(shape.Weight, generator: generator) * (1.0 / Math.Sqrt(shape.Weight[1] * shape.Weight[2] * shape.Weight[3]));
            var b = randn(shape.Weight[0], generator: generator) * 0.1;
            Tensor? upstream = null;
            (Tensor Y, Tensor Dx, Tensor Dw) Run(bool bf16)
            {
                var xx = x.clone().requires_grad_(true);
                var ww = w.clone().requires_grad_(true);
                Tensor y;
                using (MixedPrecision.Use(bf16))
                    y = MixedPrecision.Conv(xx, ww, b, shape.Stride, shape.Padding);
                upstream ??= randn(y.shape, generator: generator);
                (y * upstream).sum().backward();
                return (y.detach(), xx.grad!.clone(), ww.grad!.clone());
            }
            var reference = Run(bf16: false);
            var mixed = Run(bf16: true);
            Assert.Equal(ScalarType.Float32, mixed.Y.dtype);
            Assert.Equal(ScalarType.Float32, mixed.Dw.dtype); // master gradients stay float32
            double ey = Compare.RelativeError(mixed.Y, reference.Y), ex = Compare.RelativeError(mixed.Dx, reference.Dx), ew = Compare.RelativeError(mixed.Dw, reference.Dw);
            _output.WriteLine($"{shape}: output {ey:E1}, input gradient {ex:E1}, weight gradient {ew:E1}");
            Assert.True(ey <= Tolerance && ex <= Tolerance && ew <= Tolerance, $"{shape}: bfloat16 against float32: output {ey:E2}, input gradient {ex:E2}, weight gradient {ew:E2}");
        }
    }

    [Fact]
    public void TheSubnetsLastConvolutionsStayFloat32InsideABFloat16Scope()
    {
        using var scope = NewDisposeScope();
        Assert.True(is_grad_enabled()); // the training path, with its padded filters
        var conv = nn.Conv2d(256, 36, 3, padding: 1);
        var x = randn(2, 256, 6, 6);
        var expected = conv.call(x);
        Tensor actual;
        using (MixedPrecision.Use(true))
            actual = OutputConvolution.Apply(conv, x);
        // float32 to its own rounding (the padded filters may take another kernel); bfloat16 would be about 3e-3 off
        Assert.True(Compare.RelativeError(actual, expected) <= 1e-5, $"error {Compare.RelativeError(actual, expected):E2}");
    }
}

using Microsoft.ML.RetinaNet.Modeling;
using Microsoft.ML.RetinaNet.Runtime;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Tests.Modeling;

public class NetworkTests
{
    private static readonly System.Text.RegularExpressions.Regex NormParameter = new(@"_head\.conv\.\d\.1\.");

    [Fact]
    public void FreshHeadsHaveTorchvisionsInitialisation()
    {
        manual_seed(1);
        using var network = new RetinaNetNetwork(new NetworkConfig(4, 18));
        var state = network.state_dict();
        var bias = state["head.classification_head.cls_logits.bias"];
        Assert.True(bias.allclose(full_like(bias, -Math.Log(0.99 / 0.01)), rtol: 0, atol: 1e-6), "prior-probability bias −log(99)");
        Assert.Equal(0.0, state["head.regression_head.bbox_reg.bias"].abs().sum().item<float>());
        double std = state["head.classification_head.conv.0.0.weight"].std().item<float>();
        Assert.InRange(std, 0.0095, 0.0105); // N(0, 0.01) over 589 824 weights
    }

    [Fact]
    public void FreshV2HeadsHaveGroupNormAtOneAndZeroAndGivePriorLogits()
    {
        // TorchSharp 0.107 leaves GroupNorm's affine parameters uninitialised; a fresh V2 network gave NaN logits before
        using var network = new RetinaNetNetwork(new NetworkConfig(4, 18, RetinaNetVersion.V2));
        var norms = network.named_parameters().Where(kv => NormParameter.IsMatch(kv.name)).ToList();
        Assert.Equal(16, norms.Count); // 4 GroupNorms in each of the 2 heads, weight and bias
        foreach (var (name, p) in norms)
        {
            float expected = name.EndsWith("weight", StringComparison.Ordinal) ? 1 : 0;
            Assert.True(p.eq(expected).all().item<bool>(), $"{name} should start at {expected}");
        }
        network.train();
        using var images = randn(2, 3, 128, 128);
        var output = network.forward(images);
        Assert.True(output.ClassLogits.isfinite().all().item<bool>() && output.BoxRegression.isfinite().all().item<bool>());
        Assert.InRange(output.ClassLogits.mean().item<float>(), -4.8f, -4.4f); // −log(99) ± the small N(0, 0.01) head
    }

    [Theory]
    [InlineData(36)] // 9 anchors × 4 classes or 4 box deltas
    [InlineData(9)]
    [InlineData(48)] // already a multiple of 16: the plain convolution
    public void OutputConvolutionGivesFloat64sGradients(int outChannels)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var conv = nn.Conv2d(256, outChannels, 3, padding: 1);
        var x = randn(2, 256, 8, 8).relu();
        var g = randn(2, outChannels, 8, 8);
        var xf = x.clone().requires_grad_(true);
        var y = OutputConvolution.Apply(conv, xf);
        (y * g).sum().backward();

        var xd = x.to(ScalarType.Float64).requires_grad_(true);
        var wd = conv.weight!.detach().to(ScalarType.Float64).requires_grad_(true);
        var yd = nn.functional.conv2d(xd, wd, conv.bias!.detach().to(ScalarType.Float64), padding: new long[] { 1, 1 });
        (yd * g.to(ScalarType.Float64)).sum().backward();

        Parity.Compare.Close(y, yd, 1e-5, "output");
        Parity.Compare.Close(xf.grad!, xd.grad!, 1e-5, "input gradient"); // libtorch 2.10's own conv: ≈ 0.3 for 36 and 9
        Parity.Compare.Close(conv.weight!.grad!, wd.grad!, 1e-5, "weight gradient");
        using (no_grad())
            Assert.True(OutputConvolution.Apply(conv, x).equal(conv.call(x)).all().item<bool>(), "without gradients it is the plain convolution");
    }

    [Fact]
    public void StridedPointwiseConvEqualsAStride2Convolution()
    {
        using var scope = NewDisposeScope();
        var conv = new StridedPointwiseConv(64, 128, 2);
        using (no_grad())
            conv.state_dict()["weight"].normal_();
        foreach (int size in new[] { 16, 15 }) // even and odd sizes: both give ⌈n/2⌉
        {
            var x = randn(2, 64, size, size);
            var expected = nn.functional.conv2d(x, conv.state_dict()["weight"], strides: new long[] { 2, 2 });
            Parity.Compare.Close(conv.call(x), expected, 1e-6, $"{size}×{size}");
        }
        Assert.Equal(new[] { "weight" }, conv.state_dict().Keys); // torchvision's downsample.0 key
    }

    [Fact]
    public void FrozenBatchNormEqualsBatchNormInEvaluation()
    {
        using var scope = NewDisposeScope();
        var bn = nn.BatchNorm2d(3);
        var frozen = new FrozenBatchNorm2d(3);
        using (no_grad())
        {
            foreach (var (name, t) in bn.state_dict())
            {
                if (name == "num_batches_tracked") continue;
                var values = tensor(new float[] { 0.5f, 1.5f, 2f });
                t.copy_(values);
                frozen.state_dict()[name].copy_(values);
            }
        }
        bn.eval();
        var x = randn(2, 3, 4, 4);
        Assert.True(frozen.call(x).allclose(bn.call(x), rtol: 1e-5, atol: 1e-6));
        Assert.Empty(frozen.parameters()); // nothing to train
    }

    [Fact]
    public void TrainableStagesFreezeTheStemFirstAsTorchvision()
    {
        using var network = new RetinaNetNetwork(new NetworkConfig(2, 18));
        network.Body.SetTrainableStages(3);
        foreach (var (name, p) in network.Body.named_parameters())
        {
            bool trainable = name.StartsWith("layer2", StringComparison.Ordinal) || name.StartsWith("layer3", StringComparison.Ordinal) || name.StartsWith("layer4", StringComparison.Ordinal);
            Assert.True(p.requires_grad == trainable, $"{name}: requires_grad {p.requires_grad}");
        }
        network.Body.SetTrainableStages(5);
        Assert.All(network.Body.parameters(), p => Assert.True(p.requires_grad));
        Assert.Throws<ArgumentOutOfRangeException>(() => network.Body.SetTrainableStages(6));
    }

    [Fact]
    public void SeededInitialisationIgnoresTheGlobalGenerator()
    {
        // TorchSharp 0.107's nn.init.normal_/uniform_ draw from the global generator whatever generator they are given;
        // WeightInit must not: inside Seeded(seed) the weights depend on that seed alone.
        Dictionary<string, Tensor> Build(int globalSeed, int seed)
        {
            manual_seed(globalSeed);
            using var seeded = WeightInit.Seeded(seed);
            using var network = new RetinaNetNetwork(new NetworkConfig(3, 18, RetinaNetVersion.V2));
            return network.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        }
        var a = Build(globalSeed: 1, seed: 7);
        var b = Build(globalSeed: 2, seed: 7);
        var c = Build(globalSeed: 1, seed: 8);
        Assert.All(a, p => Assert.True(p.Value.equal(b[p.Key]).all().item<bool>(), $"{p.Key} depends on the global generator"));
        Assert.False(a["head.classification_head.cls_logits.weight"].equal(c["head.classification_head.cls_logits.weight"]).all().item<bool>());
        Assert.False(a["backbone.body.conv1.weight"].equal(c["backbone.body.conv1.weight"]).all().item<bool>());
        Assert.False(a["backbone.fpn.layer_blocks.0.0.weight"].equal(c["backbone.fpn.layer_blocks.0.0.weight"]).all().item<bool>());
        // and the distributions are still torchvision's: heads N(0, 0.01), stem N(0, √2/√(64·7·7))
        Assert.Equal(0.01, a["head.regression_head.bbox_reg.weight"].std().item<float>(), 3);
        Assert.Equal(Math.Sqrt(2.0 / (64 * 49)), a["backbone.body.conv1.weight"].std().item<float>(), 3);
    }

    [Fact]
    public void UnsupportedDepthIsRefused()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new RetinaNetNetwork(new NetworkConfig(2, 42)));
        Assert.Contains("18, 34, 50, 101 or 152", error.Message);
    }

    [Fact]
    public void DeviceIsTheCpuUnlessAGpuIsAskedForAndPresent()
    {
        Assert.Equal(CPU.type, TorchDevice.Select(null, fallbackToCpu: false).type);
        if (!cuda.is_available())
        {
            Assert.Equal(CPU.type, TorchDevice.Select(0, fallbackToCpu: true).type);
            var error = Assert.Throws<InvalidOperationException>(() => TorchDevice.Select(0, fallbackToCpu: false));
            Assert.Contains("FallbackToCpu", error.Message);
        }
        else
        {
            Assert.Equal(TorchSharp.DeviceType.CUDA, TorchDevice.Select(0, fallbackToCpu: false).type);
        }
    }
}

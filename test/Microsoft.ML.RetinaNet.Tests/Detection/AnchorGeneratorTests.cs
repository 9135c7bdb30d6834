using Microsoft.ML.RetinaNet.Detection;
using Microsoft.ML.RetinaNet.Modeling;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Tests.Detection;

public class AnchorGeneratorTests
{
    [Fact]
    public void DefaultsGiveTorchvisionsAnchorsAt512()
    {
        using var scope = NewDisposeScope();
        using var generator = new AnchorGenerator(new AnchorOptions());
        var anchors = generator.Generate(NetworkConfig.LevelSizes(512, 512), (512, 512), CPU);
        Assert.Equal(new long[] { 49104, 4 }, anchors.shape);
        Assert.Equal(new float[] { -23, -11, 23, 11 }, anchors[0].data<float>().ToArray());
        Assert.Equal(new float[] { -28, -14, 28, 14 }, anchors[1].data<float>().ToArray());
        Assert.Equal(new float[] { -35, -18, 35, 18 }, anchors[2].data<float>().ToArray());
        // second cell of P3 is shifted by the stride, 8 pixels
        Assert.Equal(new float[] { -15, -11, 31, 11 }, anchors[9].data<float>().ToArray());
        Assert.Equal(new long[] { 36864, 9216, 2304, 576, 144 }, generator.CountsPerLevel(NetworkConfig.LevelSizes(512, 512)));
    }

    [Fact]
    public void SizesAreRoundedDownLikeTorchvisionUnlessAskedNotTo()
    {
        using var rounded = new AnchorGenerator(new AnchorOptions());
        Assert.Equal(new float[] { 32, 40, 50 }, rounded.LevelSizes(0));
        using var exact = new AnchorGenerator(new AnchorOptions { RoundSizesDown = false });
        Assert.Equal(32 * MathF.Pow(2, 1f / 3), exact.LevelSizes(0)[1], 4);
    }

    [Fact]
    public void CustomScalesAndRatiosGiveTheExpectedShapes()
    {
        using var scope = NewDisposeScope();
        // one anchor per location: size 16 × 0.5625 = 9 pixels, ratio h/w = 4 -> w = 4.5, h = 18
        var options = new AnchorOptions { Sizes = new float[] { 16, 32, 64, 128, 256 }, Scales = new[] { 0.5625f }, Ratios = new[] { 4f } };
        using var generator = new AnchorGenerator(options);
        var anchors = generator.Generate(NetworkConfig.LevelSizes(128, 128), (128, 128), CPU);
        Assert.Equal(new float[] { -2, -9, 2, 9 }, anchors[0].data<float>().ToArray()); // round(±2.25), round(±9)
        Assert.Equal(16 * 16 + 8 * 8 + 4 * 4 + 2 * 2 + 1, anchors.shape[0]);
    }

    [Theory]
    [InlineData("four sizes", "Sizes needs 5 values")]
    [InlineData("zero stride", "Strides[2] is 0")]
    [InlineData("negative ratio", "Ratios[1] is -1")]
    [InlineData("no scales", "needs at least one scale")]
    [InlineData("tiny size", "rounds down to 0 pixels")]
    public void BadOptionsAreRefusedWithTheSettingNamed(string what, string expected)
    {
        var options = new AnchorOptions();
        switch (what)
        {
            case "four sizes": options.Sizes = new float[] { 32, 64, 128, 256 }; break;
            case "zero stride": options.Strides = new[] { 8, 16, 0, 64, 128 }; break;
            case "negative ratio": options.Ratios = new float[] { 0.5f, -1f }; break;
            case "no scales": options.Scales = Array.Empty<float>(); break;
            case "tiny size": options.Sizes = new float[] { 0.5f, 64, 128, 256, 512 }; options.Scales = new[] { 1f }; break;
        }
        var error = Assert.Throws<ArgumentException>(() => new AnchorGenerator(options));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void LevelSizesFollowTheNetworksStrideTwoLayers()
    {
        Assert.Equal(new (long, long)[] { (64, 64), (32, 32), (16, 16), (8, 8), (4, 4) }, NetworkConfig.LevelSizes(512, 512));
        Assert.Equal(new (long, long)[] { (63, 38), (32, 19), (16, 10), (8, 5), (4, 3) }, NetworkConfig.LevelSizes(500, 300));
    }
}

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
    [InlineData(256, 256)]
    [InlineData(480, 352)] // P6/P7 spaced 60/120 (and 59/117 across) as torchvision does: finer centres at half and quarter of that
    public void FinerStridesPutMTimesMCentresInEveryCell(int height, int width)
    {
        using var scope = NewDisposeScope();
        // strides 4, 16, 8, 32, 32: 2×2 centres per P3 cell, 1 at P4, 4×4 at P5, 2×2 at P6, 4×4 at P7
        var options = new AnchorOptions
        {
            Sizes = new float[] { 16, 48, 96, 160, 320 }, Strides = new[] { 4, 16, 8, 32, 32 }, Scales = new[] { 1f, 1.5f },
            Ratios = new[] { 0.1f, 1f, 8f }, RoundSizesDown = false,
        };
        using var generator = new AnchorGenerator(options);
        var levels = NetworkConfig.LevelSizes(height, width);
        var anchors = generator.Generate(levels, (height, width), CPU).data<float>().ToArray();

        // independent computation: every cell (row-major), every centre in it (row-major), every ratio, every scale
        var expected = new List<float>();
        var counts = new long[5];
        for (int l = 0; l < 5; l++)
        {
            var (h, w) = levels[l];
            double spacingY = height / h, spacingX = width / w; // integer division, as torchvision
            int m = new[] { 8, 16, 32, 64, 128 }[l] / options.Strides[l];
            for (long y = 0; y < h; y++)
                for (long x = 0; x < w; x++)
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < m; j++)
                            foreach (float r in options.Ratios)
                                foreach (float s in options.Scales)
                                {
                                    double cx = x * spacingX + j * spacingX / m, cy = y * spacingY + i * spacingY / m;
                                    double halfW = options.Sizes[l] * s / Math.Sqrt(r) / 2, halfH = options.Sizes[l] * s * Math.Sqrt(r) / 2;
                                    expected.AddRange(new[] { cx - Math.Round(halfW), cy - Math.Round(halfH), cx + Math.Round(halfW), cy
                                        + Math.Round(halfH) }
                                        .Select(v => (float)v));
                                    counts[l]++;
                                }
        }
        Assert.Equal(expected.Count, anchors.Length);
        for (int k = 0; k < anchors.Length; k++)
            Assert.True(Math.Abs(expected[k] - anchors[k]) < 1e-3, $"anchor {k / 4} coordinate {k % 4}: {anchors[k]} against {expected[k]}");
        Assert.Equal(counts, generator.CountsPerLevel(levels));
        Assert.Equal(new[] { 24, 6, 96, 24, 96 }, Enumerable.Range(0, 5).Select(generator.LevelAnchorsPerLocation));
        Assert.Equal(96, options.HeadAnchorsPerLocation);
        if (height == width)
            Assert.Equal(counts.Sum(), options.AnchorCount(height));
    }

    [Fact]
    public void DefaultStridesCountTorchvisionsAnchors()
    {
        Assert.Equal(49104, new AnchorOptions().AnchorCount(512));
        Assert.True(new AnchorOptions().HasDefaultStrides);
        // stride 4 at P3 alone: four times P3's 36 864 anchors
        var finer = new AnchorOptions { Strides = new[] { 4, 16, 32, 64, 128 } };
        Assert.Equal(49104 + 3 * 36864, finer.AnchorCount(512));
        Assert.False(finer.HasDefaultStrides);
        Assert.Equal(36, finer.HeadAnchorsPerLocation);
        Assert.Equal(2, finer.CentresPerCellAxis(0));
    }

    [Theory]
    [InlineData("four sizes", "Sizes needs 5 values")]
    [InlineData("zero stride", "Strides[2] (P5) is 0")]
    [InlineData("stride not dividing", "Strides[0] (P3) is 3; it must divide the level's feature stride 8 (8, 4, 2, 1)")]
    [InlineData("stride above the level's", "Strides[1] (P4) is 32")]
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
            case "stride not dividing": options.Strides = new[] { 3, 16, 32, 64, 128 }; break;
            case "stride above the level's": options.Strides = new[] { 8, 32, 32, 64, 128 }; break;
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

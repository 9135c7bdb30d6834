using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.RetinaNet.Data;
using Microsoft.ML.RetinaNet.Detection;
using Microsoft.ML.RetinaNet.Modeling;
using Microsoft.ML.RetinaNet.Onnx;
using Microsoft.ML.RetinaNet.Scoring;
using Microsoft.ML.RetinaNet.Tests.Parity;
using Microsoft.ML.RetinaNet.Weights;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Microsoft.ML.RetinaNet.Tests.Onnx;

/// <summary>The exported graph, run by plain ONNX Runtime, gives the TorchSharp eager detections.</summary>
public class OnnxExportTests
{
    private readonly ITestOutputHelper _output;

    public OnnxExportTests(ITestOutputHelper output) => _output = output;

    private const int Canvas = 128;

    /// <summary>Two images, 256×192 (landscape: content 128×96 at y 16) and 100×160 (portrait: content 80×128 at x 24), random pixels.</summary>
    private static (TorchTensor Pixels, Letterbox Letterbox)[] Images()
    {
        var random = new Random(3);
        return new[] { (256, 192), (100, 160) }.Select(wh =>
        {
            var letterbox = Letterbox.For(wh.Item1, wh.Item2, Canvas);
            var bytes = new byte[3 * letterbox.Height * letterbox.Width];
            random.NextBytes(bytes);
            return (tensor(bytes, new long[] { 3, letterbox.Height, letterbox.Width }), letterbox);
        }).ToArray();
    }

    /// <summary>What ML.NET's IsoPad resize and ExtractPixels give: RGB 0–255, content centred, black around it.</summary>
    private static DenseTensor<float> CanvasInput((TorchTensor Pixels, Letterbox Letterbox)[] images)
    {
        var input = new DenseTensor<float>(new[] { images.Length, 3, Canvas, Canvas });
        for (int n = 0; n < images.Length; n++)
        {
            var px = images[n].Pixels.data<byte>().ToArray();
            var lb = images[n].Letterbox;
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < lb.Height; y++)
                    for (int x = 0; x < lb.Width; x++)
                        input[n, c, lb.OffsetY + y, lb.OffsetX + x] = px[(c * lb.Height + y) * lb.Width + x];
        }
        return input;
    }

    [Theory]
    [InlineData(18, RetinaNetVersion.V1, false, null)]
    [InlineData(18, RetinaNetVersion.V2, false, null)]
    [InlineData(18, RetinaNetVersion.V1, true, null)] // ML.NET's ImageNet ResNet-18 layout, [2, 2, 2, 3] blocks
    [InlineData(18, RetinaNetVersion.V1, false, new[] { 4, 16, 32, 64, 128 })] // 2×2 anchor centres per P3 cell: heads 4·A, others use A
    [InlineData(18, RetinaNetVersion.V2, false, new[] { 4, 8, 32, 32, 128 })] // P3, P4, P6 finer; P5 and P7 use the first A of 4·A
    public void OnnxRuntimeGivesTheEagerDetections(int depth, RetinaNetVersion version, bool mlnetLayout, int[]? strides)
    {
        using var scope = NewDisposeScope();
        var anchors = new AnchorOptions();
        if (strides != null)
            anchors.Strides = strides;
        var network = new RetinaNetNetwork(NetworkConfig.For(anchors, 3, depth, version, BackboneNorm.BatchNorm,
            mlnetLayout ? MLNetResNet18.StageBlocks : null));
        DeterministicWeights.Apply(network);
        using var model = new DetectorModel(network, anchors, new PostProcessSettings(), Canvas, new[] { "a", "b", "c" }, CPU);
        var images = Images();
        var eager = model.Detect(images);

        using var stream = new MemoryStream();
        RetinaNetOnnxExporter.Export(model, stream, RetinaNetOnnxExporter.PublicNames);
        using var session = new InferenceSession(stream.ToArray());
        Assert.Equal((0, 16, 128, 96), (images[0].Letterbox.OffsetX, images[0].Letterbox.OffsetY, images[0].Letterbox.Width,
            images[0].Letterbox.Height));
        Assert.Equal((24, 0, 80, 128), (images[1].Letterbox.OffsetX, images[1].Letterbox.OffsetY, images[1].Letterbox.Width,
            images[1].Letterbox.Height));
        var sizes = new DenseTensor<float>(new float[] { 192, 256, 160, 100 }, new[] { 2, 2 });
        var watch = Stopwatch.StartNew();
        using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor("images", CanvasInput(images)),
            NamedOnnxValue.CreateFromTensor("image_sizes", sizes) });
        _output.WriteLine($"ONNX Runtime: {watch.Elapsed.TotalMilliseconds:F0} ms for 2 images, {stream.Length / 1e6:F1} MB");
        var boxes = results.First(r => r.Name == "boxes").AsTensor<float>();
        var scores = results.First(r => r.Name == "scores").AsTensor<float>();
        var labels = results.First(r => r.Name == "labels").AsTensor<long>();
        var count = results.First(r => r.Name == "count").AsTensor<long>();

        for (int n = 0; n < 2; n++)
        {
            Assert.True(eager[n].Scores.Length > 10, "the deterministic weights should give detections");
            Assert.Equal(eager[n].Scores.Length, (int)count[n]);
            double boxError = 0, scoreError = 0;
            int swaps = 0;
            var order = Enumerable.Range(0, (int)count[n]).ToArray(); // ONNX index of eager detection d
            for (int d = 0; d + 1 < count[n]; d++)
            {
                // Two detections whose scores are closer than the float32 error of the two paths may come out in either
                // order (with the [2, 2, 2, 3] layout two scores 2.3e-7 apart swapped); accept exactly such a swap.
                if (eager[n].Keys[d] - 1 != (uint)labels[n, d] && eager[n].Keys[d] - 1 == (uint)labels[n, d + 1] && eager[n].Keys[d
                    + 1] - 1 == (uint)labels[n, d]
                    && Math.Abs(eager[n].Scores[d] - eager[n].Scores[d + 1]) <= 1e-5)
                {
                    (order[d], order[d + 1]) = (d + 1, d);
                    swaps++;
                    d++;
                }
            }
            for (int d = 0; d < count[n]; d++)
            {
                int o = order[d];
                Assert.True(eager[n].Keys[d] - 1 == (uint)labels[n, o], $"image {n} detection {d}: label {eager[n].Keys[d] - 1} vs {labels[n, o]}");
                scoreError = Math.Max(scoreError, Math.Abs(eager[n].Scores[d] - scores[n, o]));
                for (int c = 0; c < 4; c++)
                    boxError = Math.Max(boxError, Math.Abs(eager[n].Boxes[4 * d + c] - boxes[n, o, c]) / Math.Max(1, Math.Abs(eager[n].Boxes[4 * d
                        + c])));
            }
            Assert.True(swaps <= 2, $"{swaps} near-tie swaps");
            _output.WriteLine($"image {n}: {count[n]} detections ({swaps} near-tie swaps), box relative error {boxError:E2}, score error {scoreError:E2}");
            Assert.True(boxError <= 1e-3, $"box error {boxError}");
            Assert.True(scoreError <= 1e-4, $"score error {scoreError}");
            if (count[n] < scores.Dimensions[1])
                Assert.Equal(-1f, scores[n, (int)count[n]]); // padding after the valid detections
        }
    }
}

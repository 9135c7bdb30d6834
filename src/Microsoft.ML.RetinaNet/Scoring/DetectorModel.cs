using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Data;
using Microsoft.ML.RetinaNet.Detection;
using Microsoft.ML.RetinaNet.Modeling;
using Microsoft.ML.RetinaNet.Runtime;
using Microsoft.ML.RetinaNet.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Scoring;

/// <summary>
/// What a fitted RetinaNet is: the network with its weights, the anchors, the post-processing settings, the
/// letterbox size and the class names. Detects objects in images and maps the boxes back to original pixels.
/// </summary>
internal sealed class DetectorModel : IDisposable
{
    private readonly object _lock = new();

    public DetectorModel(RetinaNetNetwork network, AnchorOptions anchors, PostProcessSettings postProcessing, int canvasSize, string[] classNames,
        Device device)
    {
        Network = network;
        AnchorOptions = anchors.Clone();
        Anchors = new AnchorGenerator(anchors);
        PostProcessing = postProcessing;
        PostProcessor = new PostProcessor(postProcessing);
        CanvasSize = canvasSize;
        ClassNames = classNames;
        Device = device;
    }

    public RetinaNetNetwork Network { get; }
    public AnchorOptions AnchorOptions { get; }
    public AnchorGenerator Anchors { get; }
    public PostProcessSettings PostProcessing { get; }
    public PostProcessor PostProcessor { get; }
    public int CanvasSize { get; }
    public string[] ClassNames { get; }
    public Device Device { get; }

    /// <summary>Detects objects in one image.</summary>
    public Prediction Detect(MLImage image)
    {
        var letterbox = Letterbox.For(image.Width, image.Height, CanvasSize);
        using var pixels = letterbox.Resize(image);
        return Detect(new[] { (pixels, letterbox) })[0];
    }

    /// <summary>Detects objects in resized images ((3, H', W') bytes each, placed by their letterbox); boxes come back in original pixels.</summary>
    public Prediction[] Detect(IReadOnlyList<(Tensor Pixels, Letterbox Letterbox)> images)
    {
        using var scope = NewDisposeScope();
        var canvas = BatchBuilder.Canvas(images.Count, CanvasSize);
        for (int i = 0; i < images.Count; i++)
            BatchBuilder.Place(canvas, i, images[i].Pixels.to(ScalarType.Float32).div(255), images[i].Letterbox.OffsetX, images[i].Letterbox.OffsetY);
        ImageDetections[] detections;
        lock (_lock) // one forward at a time: the module and its anchor cache are shared
        {
            using var noGrad = no_grad();
            Network.eval();
            var output = Network.call(canvas.to(Device));
            var anchors = Anchors.Generate(output.LevelSizes, (canvas.shape[2], canvas.shape[3]), Device);
            var regions = images.Select(x => x.Letterbox.Region).ToArray();
            detections = PostProcessor.Run(output.ClassLogits, output.BoxRegression, anchors, Anchors.CountsPerLevel(output.LevelSizes), regions);
        }
        var result = new Prediction[images.Count];
        for (int i = 0; i < images.Count; i++)
        {
            var boxes = images[i].Letterbox.CanvasToOriginal(detections[i].Boxes.ToArray<float>());
            var keys = detections[i].Labels.ToArray<long>().Select(l => (uint)(l + 1)).ToArray();
            result[i] = new Prediction(keys, detections[i].Scores.ToArray<float>(), boxes);
        }
        return result;
    }

    public void Dispose()
    {
        Anchors.Dispose();
        Network.Dispose();
    }
}

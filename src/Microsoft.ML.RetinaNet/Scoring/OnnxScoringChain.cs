using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.Transforms.Onnx;

namespace Microsoft.ML.RetinaNet.Scoring;

/// <summary>
/// The fitted model as a chain of ML.NET's own saveable transforms around one ONNX graph:
/// copy the image column → image height and width (custom mapping) → ResizeImages(S, S, IsoPad) → ExtractPixels →
/// ApplyOnnxModel (network, decoding, NMS; boxes in original pixels) → cut the padding (custom mapping) → label index to
/// class name (MapValue) → key with the class names as key values, in class order (MapValueToKey with key data) → the
/// output columns; the intermediate columns are dropped.
/// </summary>
internal static class OnnxScoringChain
{
    private sealed class ClassName
    {
        public string Name { get; set; } = "";
    }

    private static readonly string[] Intermediate = { "rn_image", "rn_image_sizes", "rn_resized", "rn_images", "rn_boxes", "rn_scores", "rn_labels",
        "rn_count", "rn_label_index", "rn_label_name", "rn_score", "rn_predicted_boxes" };

    public static ITransformer Build(IDataView data, DetectorModel model, string onnxPath, string imageColumn, OutputColumns outputs,
        int? gpuDeviceId, bool fallbackToCpu)
    {
        var ml = new MLContext(seed: 0);
        // the same session options as a model loaded from model.zip (ScoringSessionOptions)
        ml.SetOnnxSessionOption(ScoringSessionOptions.For(() => (gpuDeviceId, fallbackToCpu)));
        int s = model.CanvasSize;
        var classes = model.ClassNames.Select((name, i) => new KeyValuePair<uint, string>((uint)(i + 1), name));
        var steps = new IEstimator<ITransformer>[]
        {
            ml.Transforms.CopyColumns("rn_image", imageColumn),
            ml.Transforms.CustomMapping(new ImageSizeMapping().GetMapping(), ImageSizeMapping.ContractName),
            ml.Transforms.ResizeImages("rn_resized", s, s, "rn_image", ImageResizingEstimator.ResizingKind.IsoPad),
            ml.Transforms.ExtractPixels("rn_images", "rn_resized", interleavePixelColors: false),
            // ONNX Runtime's default thread count is its count of physical cores, which it detects as 1 on some VMs (the
            // 2-core benchmark machine: R50 512² 0.51 s with 1 thread, 0.28 s with 2); use every core the process may use.
            // (The session itself is built by ScoringSessionOptions; these settings say the same for readers of the step.)
            ml.Transforms.ApplyOnnxModel(new OnnxOptions
            {
                ModelFile = onnxPath,
                InputColumns = new[] { "rn_images", "rn_image_sizes" },
                OutputColumns = new[] { "rn_boxes", "rn_scores", "rn_labels", "rn_count" },
                GpuDeviceId = gpuDeviceId,
                FallbackToCpu = fallbackToCpu,
                IntraOpNumThreads = Environment.ProcessorCount,
            }),
            ml.Transforms.CustomMapping(new DetectionsMapping().GetMapping(), DetectionsMapping.ContractName),
            ml.Transforms.Conversion.MapValue("rn_label_name", classes, "rn_label_index"),
            ml.Transforms.Conversion.MapValueToKey(outputs.PredictedLabel, "rn_label_name",
                keyData: ml.Data.LoadFromEnumerable(model.ClassNames.Select(n => new ClassName { Name = n }))),
            ml.Transforms.CopyColumns(outputs.Score, "rn_score"),
            ml.Transforms.CopyColumns(outputs.PredictedBoxes, "rn_predicted_boxes"),
            ml.Transforms.DropColumns(Intermediate),
        };
        // Fitted one by one rather than as an EstimatorChain: CustomMappingEstimator's schema-shape check compares an
        // image column's type by reference (ML.NET 5.0.1), which an image column from LoadImages never passes; the
        // transformers' own schema binding accepts it. All steps are trivial (nothing is learned from the data).
        var transformers = new List<ITransformer>();
        foreach (var step in steps)
        {
            var transformer = step.Fit(data);
            transformers.Add(transformer);
            data = transformer.Transform(data);
        }
        return new TransformerChain<ITransformer>(transformers.ToArray());
    }
}

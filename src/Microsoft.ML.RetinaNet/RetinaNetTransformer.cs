using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Scoring;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.RetinaNet;

/// <summary>
/// A fitted RetinaNet: adds <c>PredictedLabel</c> (keys, with the class names as key values), <c>Score</c> and
/// <c>PredictedBoundingBoxes</c> (x0 y0 x1 y1 in the original image's pixels), all variable-length vectors with
/// one entry (or four) per detection, highest score first. Scores lazily, row by row, and works with
/// <c>CreatePredictionEngine</c>.
/// </summary>
public sealed class RetinaNetTransformer : ITransformer, IDisposable
{
    private readonly OutputColumns _outputs;

    internal RetinaNetTransformer(DetectorModel model, string imageColumnName, OutputColumns outputs)
    {
        Model = model;
        ImageColumnName = imageColumnName;
        _outputs = outputs;
    }

    internal DetectorModel Model { get; }

    /// <summary>The image column read when scoring.</summary>
    public string ImageColumnName { get; }

    /// <summary>Class names, in key order (key 1 is the first).</summary>
    public IReadOnlyList<string> ClassNames => Model.ClassNames;

    /// <summary>Square size images are letterboxed to.</summary>
    public int ImageSize => Model.CanvasSize;

    /// <summary>The anchors the network was trained with.</summary>
    public AnchorOptions Anchors => Model.AnchorOptions.Clone();

    /// <inheritdoc />
    public bool IsRowToRowMapper => true;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => View(null, inputSchema).OutputSchema;

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => View(null, inputSchema);

    /// <inheritdoc />
    public IDataView Transform(IDataView input) => View(input, input.Schema);

    private DetectionDataView View(IDataView? input, DataViewSchema schema) => new(input, schema, Model, _outputs, ImageColumnName);

    /// <summary>
    /// Writes the network, box decoding and class-wise NMS as one ONNX graph (opset 17, dynamic batch) that plain ONNX
    /// Runtime runs with no .NET code. Input <c>images</c>: float32 (N, 3, S, S), RGB in [0, 1], each image letterboxed
    /// into the top-left corner of the S×S canvas (S = <see cref="ImageSize"/>, scale S / max(width, height)), the rest
    /// filled with the ImageNet mean (0.485, 0.456, 0.406); <c>image_sizes</c>: float32 (N, 2), the height and width of the
    /// image inside the canvas. Outputs: <c>boxes</c> (N, D, 4) x0 y0 x1 y1 in canvas pixels (divide by the scale for the
    /// original image), <c>scores</c> (N, D) descending with −1 as padding, <c>labels</c> (N, D) int64 0-based class
    /// indices (see <see cref="ClassNames"/>), <c>count</c> (N) int64 valid detections. The file is written to a temporary
    /// name and renamed.
    /// </summary>
    public void ExportToOnnx(string path)
    {
        string temp = path + ".tmp";
        using (var stream = File.Create(temp))
            Onnx.RetinaNetOnnxExporter.Export(Model, stream);
        File.Move(temp, path, overwrite: true);
    }

    void ICanSaveModel.Save(ModelSaveContext ctx) =>
        throw new NotSupportedException("Saving a RetinaNet model with mlContext.Model.Save is not supported yet: the fitted network lives in TorchSharp.");

    /// <summary>Releases the network's native memory.</summary>
    public void Dispose() => Model.Dispose();
}

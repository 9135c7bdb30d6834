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

    void ICanSaveModel.Save(ModelSaveContext ctx) =>
        throw new NotSupportedException("Saving a RetinaNet model with mlContext.Model.Save is not supported yet: the fitted network lives in TorchSharp.");

    /// <summary>Releases the network's native memory.</summary>
    public void Dispose() => Model.Dispose();
}

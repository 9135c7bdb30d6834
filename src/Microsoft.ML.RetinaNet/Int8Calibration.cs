namespace Microsoft.ML.RetinaNet;

/// <summary>
/// How to make the int8 ONNX graph of a RetinaNet (<see cref="RetinaNetTransformer.ExportToOnnx(string, Int8Calibration)"/>,
/// <c>mlContext.Model.ExportRetinaNetToOnnx(model, onnx, calibration)</c>, <see cref="RetinaNetTrainer.Options.Int8Scoring"/>):
/// the images whose activations set the quantisation ranges, and optionally annotated images on which the float32 and
/// the int8 model are both evaluated, so the accuracy the quantisation costs is measured, not assumed.
/// </summary>
public sealed class Int8Calibration
{
    /// <summary>Images to calibrate on: a sample of the training images, in the column the model reads (LoadImages' output).</summary>
    public IDataView? Images { get; set; }

    /// <summary>At most this many rows of <see cref="Images"/> are run (from the first). Default 64.</summary>
    public int MaxImages { get; set; } = 64;

    /// <summary>Optional: annotated images (with the label and box columns) on which both models are evaluated.</summary>
    public IDataView? EvaluationData { get; set; }

    /// <summary>Ground-truth label column of <see cref="EvaluationData"/>. Default "Label".</summary>
    public string LabelColumnName { get; set; } = DefaultColumnNames.Label;

    /// <summary>Ground-truth box column of <see cref="EvaluationData"/>. Default "BoundingBoxes".</summary>
    public string BoundingBoxColumnName { get; set; } = DefaultColumnNames.BoundingBoxes;

    /// <summary>The scored columns the model writes (as it was trained with). Defaults "PredictedLabel", "Score", "PredictedBoundingBoxes".</summary>
    public string PredictedLabelColumnName { get; set; } = DefaultColumnNames.PredictedLabel;

    /// <inheritdoc cref="PredictedLabelColumnName"/>
    public string ScoreColumnName { get; set; } = DefaultColumnNames.Score;

    /// <inheritdoc cref="PredictedLabelColumnName"/>
    public string PredictedBoundingBoxColumnName { get; set; } = DefaultColumnNames.PredictedBoundingBoxes;
}

using System.Globalization;
using Microsoft.ML.RetinaNet.Evaluation;

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

/// <summary>What an int8 quantisation did, and what it cost when evaluation data was given.</summary>
public sealed class Int8Report
{
    internal Int8Report(int calibrationImages, int convolutions, int activations, DetectionMetrics? float32, DetectionMetrics? int8)
    {
        CalibrationImages = calibrationImages;
        Convolutions = convolutions;
        Activations = activations;
        Float32 = float32;
        Int8 = int8;
    }

    /// <summary>Images the ranges were calibrated on.</summary>
    public int CalibrationImages { get; }

    /// <summary>Convolutions with int8 weights (every one of the network's).</summary>
    public int Convolutions { get; }

    /// <summary>Activation tensors quantised to uint8.</summary>
    public int Activations { get; }

    /// <summary>The float32 model's metrics on the evaluation data (null without any).</summary>
    public DetectionMetrics? Float32 { get; }

    /// <summary>The int8 model's metrics on the same data (null without any).</summary>
    public DetectionMetrics? Int8 { get; }

    /// <summary>One line: what was quantised, and the metrics of both models with the difference when measured.</summary>
    public override string ToString()
    {
        string what = string.Create(CultureInfo.InvariantCulture,
            $"{Convolutions} convolutions int8, {Activations} activations uint8, calibrated on {CalibrationImages} images");
        if (Float32 is not { } f || Int8 is not { } q)
            return what;
        return string.Create(CultureInfo.InvariantCulture,
            $"{what}; float32 AP50 {f.AveragePrecision50:F3} mAP {f.MeanAveragePrecision:F3}, int8 AP50 {q.AveragePrecision50:F3} mAP {q.MeanAveragePrecision:F3} (AP50 {Signed(q.AveragePrecision50 - f.AveragePrecision50)}, mAP {Signed(q.MeanAveragePrecision - f.MeanAveragePrecision)})");
    }

    private static string Signed(double difference) => Math.Round(difference, 3).ToString("+0.000;-0.000;0.000", CultureInfo.InvariantCulture);
}

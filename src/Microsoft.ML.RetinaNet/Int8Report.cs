using System.Globalization;
using Microsoft.ML.RetinaNet.Evaluation;

namespace Microsoft.ML.RetinaNet;

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
            $"{what}; float32 AP50 {f.AveragePrecision50:F3} mAP {f.MeanAveragePrecision:F3}, int8 AP50 {q.AveragePrecision50:F3} "
                + $"mAP {q.MeanAveragePrecision:F3} (AP50 {Signed(q.AveragePrecision50 - f.AveragePrecision50)}, "
                    + $"mAP {Signed(q.MeanAveragePrecision - f.MeanAveragePrecision)})");
    }

    private static string Signed(double difference) => Math.Round(difference, 3).ToString("+0.000;-0.000;0.000", CultureInfo.InvariantCulture);
}

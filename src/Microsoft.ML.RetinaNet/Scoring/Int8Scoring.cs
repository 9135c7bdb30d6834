using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Evaluation;
using Microsoft.ML.RetinaNet.Onnx;
using Microsoft.ML.Transforms.Onnx;

namespace Microsoft.ML.RetinaNet.Scoring;

/// <summary>
/// int8 scoring for a RetinaNet scoring chain — the fitted transformer's or one loaded from model.zip, alone or inside a
/// larger pipeline: the chain's own steps before its ApplyOnnxModel prepare the calibration images exactly as scoring
/// does, <see cref="Int8Calibrator"/> quantises the graph, and the same chain with the int8 graph in place of the float32
/// one scores (and is evaluated beside the float32 chain when evaluation data is given).
/// </summary>
internal static class Int8Scoring
{
    public static Int8Report Quantize(ITransformer chain, byte[] chainGraph, Int8Calibration calibration, string int8Path,
        int? gpuDeviceId, bool fallbackToCpu, out ITransformer int8Chain)
    {
        if (calibration is null) throw new ArgumentNullException(nameof(calibration));
        var images = calibration.Images ?? throw new ArgumentException("Int8Calibration.Images is not set: give it a sample of the training images "
            + "(the model's input columns).", nameof(calibration));
        var quantised = Int8Calibrator.Quantize(chainGraph, Preprocess(chain, images), calibration.MaxImages, out var summary);
        File.WriteAllBytes(int8Path, quantised);
        int8Chain = WithGraph(chain, images, int8Path, gpuDeviceId, fallbackToCpu);
        DetectionMetrics? f32 = null, i8 = null;
        if (calibration.EvaluationData is { } data)
        {
            f32 = Evaluate(chain, data, calibration);
            i8 = Evaluate(int8Chain, data, calibration);
        }
        return new Int8Report(summary.CalibrationImages, summary.Convolutions, summary.Activations, f32, i8);
    }

    /// <summary>Quantises as <see cref="Quantize"/> does and writes the int8 graph with the public names to <paramref name="onnxPath"/>.</summary>
    public static Int8Report Export(ITransformer chain, byte[] chainGraph, Int8Calibration calibration, string onnxPath)
    {
        string int8Path = RetinaNetOnnxExporter.TemporaryPath();
        try
        {
            var report = Quantize(chain, chainGraph, calibration, int8Path, null, false, out var int8Chain);
            (int8Chain as IDisposable)?.Dispose();
            var publicGraph = RetinaNetOnnxExporter.ToPublicNames(File.ReadAllBytes(int8Path));
            Runtime.SafeFile.Write(onnxPath, stream => stream.Write(publicGraph));
            return report;
        }
        finally
        {
            Runtime.SafeFile.DeleteQuietly(int8Path);
        }
    }

    private static DetectionMetrics Evaluate(ITransformer chain, IDataView data, Int8Calibration c) =>
        ScoredDataEvaluation.Evaluate(chain.Transform(data), c.LabelColumnName, c.BoundingBoxColumnName, c.PredictedLabelColumnName,
            c.ScoreColumnName, c.PredictedBoundingBoxColumnName);

    /// <summary>The chain's transformers in order, nested chains opened.</summary>
    public static IEnumerable<ITransformer> Steps(ITransformer chain) => chain is IEnumerable<ITransformer> inner
        ? inner.SelectMany(Steps)
        : new[] { chain };

    /// <summary><paramref name="data"/> through every step before the chain's ApplyOnnxModel: the columns the graph reads.</summary>
    public static IDataView Preprocess(ITransformer chain, IDataView data)
    {
        foreach (var step in Steps(chain))
        {
            if (step is OnnxTransformer)
                return data;
            data = step.Transform(data);
        }
        throw new ArgumentException("The model has no ApplyOnnxModel step; is it a RetinaNet model?");
    }

    /// <summary>The same steps with the ApplyOnnxModel step reading <paramref name="onnxPath"/> instead.</summary>
    public static ITransformer WithGraph(ITransformer chain, IDataView data, string onnxPath, int? gpuDeviceId, bool fallbackToCpu)
    {
        var ml = new MLContext(seed: 0);
        ml.SetOnnxSessionOption(ScoringSessionOptions.For(() => (gpuDeviceId, fallbackToCpu)));
        var steps = new List<ITransformer>();
        bool replaced = false;
        foreach (var step in Steps(chain))
        {
            var next = step;
            if (step is OnnxTransformer && !replaced)
            {
                var names = RetinaNetOnnxExporter.ChainNames;
                next = ml.Transforms.ApplyOnnxModel(new OnnxOptions
                {
                    ModelFile = onnxPath,
                    InputColumns = new[] { names.Images, names.ImageSizes },
                    OutputColumns = new[] { names.Boxes, names.Scores, names.Labels, names.Count },
                    GpuDeviceId = gpuDeviceId,
                    FallbackToCpu = fallbackToCpu,
                    IntraOpNumThreads = Environment.ProcessorCount,
                }).Fit(data);
                replaced = true;
            }
            steps.Add(next);
            data = next.Transform(data);
        }
        if (!replaced)
            throw new ArgumentException("The model has no ApplyOnnxModel step; is it a RetinaNet model?");
        return new TransformerChain<ITransformer>(steps.ToArray());
    }
}

using Microsoft.ML.RetinaNet.Detection;
using Microsoft.ML.RetinaNet.Scoring;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Benchmarks.Workloads;

/// <summary>
/// Scoring image files the way an ML.NET user does: <c>LoadImages</c> followed by the fitted RetinaNet transformer (its
/// ONNX chain: resize with letterbox, pixels, ONNX Runtime for network + decoding + NMS, label keys), one
/// <see cref="PredictionEngine{TSrc, TDst}"/> call per image. The transformer is built as <c>Fit</c> builds it, from a
/// freshly initialised network (speed does not depend on the weights; with the prior bias no candidate passes the
/// score threshold on either side). By default the engine scores through the model as a user deploys it: saved with
/// <c>mlContext.Model.Save</c> and loaded in a fresh context with <c>LoadRetinaNet</c>. With <c>int8</c> the transformer
/// scores with the int8 graph (<see cref="RetinaNetTrainer.Options.Int8Scoring"/>), saved and loaded the same way.
/// </summary>
internal sealed class InferenceWorkload : IWorkload
{
    /// <summary>Which model the prediction engine runs.</summary>
    public enum Source
    {
        /// <summary>model.zip loaded with LoadRetinaNet (RetinaNet's session options).</summary>
        Loaded,
        /// <summary>the fitted transformer itself.</summary>
        Fitted,
        /// <summary>model.zip loaded by ML.NET with its default session options (how loaded models scored before).</summary>
        LoadedWithMLNetDefaults,
    }

    private sealed class ImageRow
    {
        public string ImagePath { get; set; } = "";
    }

    private sealed class Detections
    {
        public uint[] PredictedLabel { get; set; } = Array.Empty<uint>();
        public float[] Score { get; set; } = Array.Empty<float>();
        public float[] PredictedBoundingBoxes { get; set; } = Array.Empty<float>();
    }

    private readonly RetinaNetTransformer _transformer;
    private readonly PredictionEngine<ImageRow, Detections> _engine;
    private readonly ImageRow[] _rows;
    private readonly string? _folder;

    public InferenceWorkload(int depth, int size, IReadOnlyList<string> images, Source source = Source.Loaded, bool int8 = false)
    {
        var ml = new MLContext(seed: 1);
        _rows = images.Select(p => new ImageRow { ImagePath = p }).ToArray();
        var data = ml.Data.LoadFromEnumerable(_rows);
        var loader = ml.Transforms.LoadImages("Image", null, nameof(ImageRow.ImagePath)).Fit(data);
        var classNames = Enumerable.Range(1, BenchmarkData.Classes).Select(i => $"class{i}").ToArray();
        var model = new DetectorModel(Networks.Fresh(depth), new AnchorOptions(), new PostProcessSettings(), size, classNames, CPU);
        var outputs = new OutputColumns(DefaultColumnNames.PredictedLabel, DefaultColumnNames.Score, DefaultColumnNames.PredictedBoundingBoxes);
        // int8: the graph quantised with ranges calibrated on these images (as Options.Int8Scoring does with training images)
        var calibration = int8 ? new Int8Calibration { Images = loader.Transform(data) } : null;
        _transformer = RetinaNetTransformer.Create(model, loader.Transform(data), "Image", outputs, null, false, Array.Empty<EpochRecord>(), calibration);
        ITransformer scoring = loader.Append(_transformer);
        if (source != Source.Fitted)
        {
            _folder = Directory.CreateTempSubdirectory("retinanet-bench-model-").FullName;
            string path = Path.Combine(_folder, "model.zip");
            ml.Model.Save(scoring, data.Schema, path);
            ml = new MLContext(seed: 1);
            if (source == Source.LoadedWithMLNetDefaults)
            {
                Microsoft.ML.Transforms.Onnx.OnnxSessionOptionsExtensions.SetOnnxSessionOption(ml, new Microsoft.ML.Transforms.Onnx.OnnxSessionOptions());
                ml.ComponentCatalog.RegisterAssembly(typeof(RetinaNetTransformer).Assembly);
                scoring = ml.Model.Load(path, out _);
            }
            else
            {
                scoring = ml.Model.LoadRetinaNet(path, out _);
            }
        }
        _engine = ml.Model.CreatePredictionEngine<ImageRow, Detections>(scoring);
    }

    public int Images => _rows.Length;

    public void Run()
    {
        foreach (var row in _rows)
            _engine.Predict(row);
    }

    public void Dispose()
    {
        _engine.Dispose();
        _transformer.Dispose();
        if (_folder is not null)
            Directory.Delete(_folder, recursive: true);
    }
}

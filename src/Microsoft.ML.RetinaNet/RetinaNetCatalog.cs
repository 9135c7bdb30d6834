using Microsoft.ML.RetinaNet.Evaluation;
using Microsoft.ML.RetinaNet.Runtime;
using Microsoft.ML.RetinaNet.Scoring;

namespace Microsoft.ML.RetinaNet;

/// <summary>RetinaNet on ML.NET's catalogs.</summary>
public static class RetinaNetCatalog
{
    /// <summary>
    /// A RetinaNet trainer with the column names of ML.NET's ObjectDetection trainer; see <see cref="RetinaNetTrainer.Options"/> for the defaults.
    /// </summary>
    public static RetinaNetTrainer RetinaNet(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string predictedLabelColumnName = DefaultColumnNames.PredictedLabel,
        string scoreColumnName = DefaultColumnNames.Score, string boundingBoxColumnName = DefaultColumnNames.BoundingBoxes,
        string predictedBoundingBoxColumnName = DefaultColumnNames.PredictedBoundingBoxes, string imageColumnName = DefaultColumnNames.Image,
        int maxEpoch = 12, int depth = 50, int imageSize = 512, int batchSize = 2)
        => catalog.RetinaNet(new RetinaNetTrainer.Options
        {
            LabelColumnName = labelColumnName, PredictedLabelColumnName = predictedLabelColumnName, ScoreColumnName = scoreColumnName,
            BoundingBoxColumnName = boundingBoxColumnName, PredictedBoundingBoxColumnName = predictedBoundingBoxColumnName,
            ImageColumnName = imageColumnName, Epochs = maxEpoch, Depth = depth, ImageSize = imageSize, BatchSize = batchSize,
        });

    /// <summary>A RetinaNet trainer with all its options.</summary>
    public static RetinaNetTrainer RetinaNet(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        RetinaNetTrainer.Options options)
        => new(MLNetInternals.Environment(catalog), options);

    /// <summary>
    /// A fitted RetinaNet transformer from a torchvision RetinaNet <c>.pth</c> and its class names, without training (see
    /// <see cref="RetinaNetTrainer.FromTorchvision"/>); <paramref name="options"/> describe the network (Depth, Version,
    /// anchors) and scoring (ImageSize, post-processing, column names). Save it with <c>mlContext.Model.Save</c> or
    /// <see cref="RetinaNetTransformer.ExportToOnnx(string)"/>.
    /// </summary>
    public static RetinaNetTransformer RetinaNetFromTorchvision(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string pthPath, IReadOnlyList<string> classNames, RetinaNetTrainer.Options? options = null)
        => catalog.RetinaNet(options ?? new RetinaNetTrainer.Options()).FromTorchvision(pthPath, classNames);

    /// <summary>
    /// Makes the RetinaNet transforms known to <paramref name="mlContext"/> so that <c>mlContext.Model.Load</c> can read a
    /// saved RetinaNet model: the one call to make before loading (it registers this assembly's custom mappings). It also
    /// gives the context RetinaNet's ONNX Runtime session options (every core; ML.NET does not save thread counts), unless
    /// <c>SetOnnxSessionOption</c> was called on it before: a loaded model then scores as fast as the fitted one.
    /// </summary>
    public static void RegisterRetinaNet(this MLContext mlContext)
    {
        mlContext.ComponentCatalog.RegisterAssembly(typeof(RetinaNetTransformer).Assembly);
        ScoringSessionOptions.ApplyTo(mlContext);
    }

    /// <summary>
    /// Loads a model saved with <c>mlContext.Model.Save</c> that contains a RetinaNet: registers the RetinaNet transforms
    /// first, checks every entry of the file against its CRC-32 (ML.NET's loader does not), and reports a damaged or
    /// truncated file as <see cref="InvalidDataException"/> naming the file.
    /// </summary>
    public static ITransformer LoadRetinaNet(this ModelOperationsCatalog catalog, string path, out DataViewSchema inputSchema)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        var env = MLNetInternals.Environment(catalog);
        env.ComponentCatalog.RegisterAssembly(typeof(RetinaNetTransformer).Assembly);
        ScoringSessionOptions.ApplyTo(env);
        try
        {
            ModelFileCheck.Verify(path);
            return catalog.Load(path, out inputSchema);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or FormatException or InvalidOperationException or ArgumentException
            or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or EndOfStreamException)
        {
            throw new InvalidDataException($"The model file '{path}' could not be loaded; it is damaged or truncated, or not an ML.NET model "
                + $"({e.GetType().Name}: {e.Message}). Save it again with mlContext.Model.Save.", e);
        }
    }

    /// <summary>
    /// Writes the detector inside a model file saved with <c>mlContext.Model.Save</c> as a stand-alone ONNX graph for plain
    /// ONNX Runtime — the same file <see cref="RetinaNetTransformer.ExportToOnnx(string)"/> writes (inputs <c>images</c>,
    /// <c>image_sizes</c>; outputs <c>boxes</c>, <c>scores</c>, <c>labels</c>, <c>count</c>) — with no TorchSharp and no
    /// training. The model file is checked against its CRC-32s first; a damaged one is an <see cref="InvalidDataException"/>.
    /// </summary>
    public static void ExportRetinaNetToOnnx(this ModelOperationsCatalog catalog, string modelPath, string onnxPath)
    {
        _ = catalog;
        var chainGraph = ChainGraph(modelPath);
        SafeFile.Write(onnxPath, s => s.Write(Onnx.RetinaNetOnnxExporter.ToPublicNames(chainGraph)));
    }

    /// <summary>
    /// Writes the int8 form of the detector inside a model file (see <see cref="RetinaNetTransformer.ExportToOnnx(string, Int8Calibration)"/>):
    /// the model file is loaded, its own steps prepare <paramref name="calibration"/>'s images (rows in the model's input
    /// schema), and with evaluation data both the float32 and the int8 model are evaluated.
    /// </summary>
    public static Int8Report ExportRetinaNetToOnnx(this ModelOperationsCatalog catalog, string modelPath, string onnxPath,
        Int8Calibration calibration)
    {
        var chainGraph = ChainGraph(modelPath);
        if (Onnx.OnnxModelReader.Read(chainGraph).Nodes.Any(n => n.OpType == "QuantizeLinear"))
            throw new InvalidOperationException($"The model in '{modelPath}' already scores with an int8 graph; export it without calibration.");
        var chain = catalog.LoadRetinaNet(modelPath, out _);
        try
        {
            return Int8Scoring.Export(chain, chainGraph, calibration, onnxPath);
        }
        finally
        {
            (chain as IDisposable)?.Dispose();
        }
    }

    /// <summary>The ONNX graph (chain names) inside a model file, after its CRC-32s are checked.</summary>
    private static byte[] ChainGraph(string modelPath)
    {
        if (!File.Exists(modelPath))
            throw new FileNotFoundException($"Model file '{modelPath}' does not exist.", modelPath);
        byte[] chainGraph;
        try
        {
            ModelFileCheck.Verify(modelPath);
            using var archive = System.IO.Compression.ZipFile.OpenRead(modelPath);
            var entry = archive.Entries.SingleOrDefault(e => e.FullName.EndsWith("/OnnxModel", StringComparison.Ordinal))
                ?? throw new InvalidDataException("it holds no ONNX model; is it a RetinaNet model?");
            using var stream = entry.Open();
            using var reader = new BinaryReader(stream);
            int length = reader.ReadInt32(); // ML.NET's byte-array framing: an int32 length, then the bytes
            if (length < 0 || length + 4L != entry.Length)
                throw new InvalidDataException($"its ONNX entry is {entry.Length} bytes but says {length} + 4");
            chainGraph = reader.ReadBytes(length);
            if (chainGraph.Length != length)
                throw new InvalidDataException($"its ONNX entry ends after {chainGraph.Length} of {length} bytes");
        }
        catch (Exception e) when (e is InvalidDataException or IOException or EndOfStreamException)
        {
            throw new InvalidDataException($"Could not export '{modelPath}': {e.Message}", e);
        }
        return chainGraph;
    }

    /// <summary>
    /// COCO-style metrics (the numbers pycocotools' COCOeval prints, and AP per class) of scored data with ground-truth
    /// <paramref name="labelColumnName"/>/<paramref name="boundingBoxColumnName"/> and predicted columns. Three optional
    /// columns make it read what pycocotools reads from a COCO file (<see cref="Datasets.DetectionRecord"/> has all three;
    /// <c>CocoFormat.Read(path, CrowdAnnotations.Keep)</c> fills them):
    /// <paramref name="imageIdColumnName"/> (numeric): images are evaluated in ascending id, which orders equal scores of
    /// different images (without it, row order);
    /// <paramref name="crowdColumnName"/> (Boolean vector, one per object): crowd regions are ignored and absorb the
    /// detections on them, with IoU = intersection / detection area;
    /// <paramref name="areaColumnName"/> (Double or Single vector, one per object): the area that puts an object in
    /// small (≤ 32²), medium (32² to 96², both bounds inclusive) or large (≥ 96²); without it the box's w·h.
    /// </summary>
    public static DetectionMetrics EvaluateCocoDetection(this MulticlassClassificationCatalog catalog, IDataView data,
        string labelColumnName = DefaultColumnNames.Label, string boundingBoxColumnName = DefaultColumnNames.BoundingBoxes,
        string predictedLabelColumnName = DefaultColumnNames.PredictedLabel, string scoreColumnName = DefaultColumnNames.Score,
        string predictedBoundingBoxColumnName = DefaultColumnNames.PredictedBoundingBoxes,
        string? imageIdColumnName = null, string? crowdColumnName = null, string? areaColumnName = null)
        => ScoredDataEvaluation.Evaluate(data, labelColumnName, boundingBoxColumnName, predictedLabelColumnName, scoreColumnName,
            predictedBoundingBoxColumnName,
            new CocoColumns(imageIdColumnName, crowdColumnName, areaColumnName));

    /// <summary>
    /// pycocotools' evaluation of a COCO results file against a COCO annotation file, with no model: the ground truth's
    /// image ids, categories (in id order), <c>iscrowd</c> and <c>area</c>; the results' <c>image_id</c>,
    /// <c>category_id</c>, <c>bbox</c> (x, y, w, h) and <c>score</c>, all read as doubles.
    /// </summary>
    public static DetectionMetrics EvaluateCocoResults(this MulticlassClassificationCatalog catalog, string annotationsPath, string resultsPath)
    {
        _ = catalog;
        return CocoResultsEvaluation.Evaluate(annotationsPath, resultsPath);
    }
}

using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Scoring;

namespace Microsoft.ML.RetinaNet;

/// <summary>
/// A fitted RetinaNet: adds <c>PredictedLabel</c> (keys, with the class names as key values), <c>Score</c> and
/// <c>PredictedBoundingBoxes</c> (x0 y0 x1 y1 in the original image's pixels), all variable-length vectors with one
/// entry (or four) per detection, highest score first. Scoring runs in ONNX Runtime (CPU, or CUDA with
/// <c>MLContext.GpuDeviceId</c>) through a chain of ML.NET's own transforms, so <c>mlContext.Model.Save</c> stores it and
/// <c>mlContext.Model.Load</c> reads it back after <see cref="RetinaNetCatalog.RegisterRetinaNet"/>.
/// </summary>
public sealed class RetinaNetTransformer : ITransformer, IDisposable
{
    private readonly ITransformer _chain;
    private readonly string _onnxPath;

    internal RetinaNetTransformer(DetectorModel model, string imageColumnName, ITransformer chain, string onnxPath,
        IReadOnlyList<EpochRecord> history)
    {
        History = history;
        Model = model;
        ImageColumnName = imageColumnName;
        _chain = chain;
        _onnxPath = onnxPath;
    }

    internal DetectorModel Model { get; }

    /// <summary>
    /// The fitted transformer for <paramref name="model"/>: its network, decoding and NMS exported as one ONNX graph to a
    /// temporary file (deleted on dispose) and the scoring chain of ML.NET transforms around it, bound to <paramref name="input"/>'s schema.
    /// </summary>
    internal static RetinaNetTransformer Create(DetectorModel model, IDataView input, string imageColumnName, OutputColumns outputs,
        int? gpuDeviceId, bool fallbackToCpu, IReadOnlyList<EpochRecord> history, Int8Calibration? int8 = null, Action<Int8Report>? reportInt8 = null)
    {
        string onnxPath = Onnx.RetinaNetOnnxExporter.TemporaryPath();
        using (var stream = File.Create(onnxPath))
            Onnx.RetinaNetOnnxExporter.Export(model, stream, Onnx.RetinaNetOnnxExporter.ChainNames);
        var chain = OnnxScoringChain.Build(input, model, onnxPath, imageColumnName, outputs, gpuDeviceId, fallbackToCpu);
        if (int8 is null)
            return new RetinaNetTransformer(model, imageColumnName, chain, onnxPath, history);
        string int8Path = Onnx.RetinaNetOnnxExporter.TemporaryPath();
        try
        {
            var report = Int8Scoring.Quantize(chain, File.ReadAllBytes(onnxPath), int8, int8Path, gpuDeviceId, fallbackToCpu, out var int8Chain);
            reportInt8?.Invoke(report);
            return new RetinaNetTransformer(model, imageColumnName, int8Chain, int8Path, history) { IsInt8 = true };
        }
        catch
        {
            Runtime.SafeFile.DeleteQuietly(int8Path);
            throw;
        }
        finally
        {
            (chain as IDisposable)?.Dispose();
            Runtime.SafeFile.DeleteQuietly(onnxPath);
        }
    }

    /// <summary>True when this transformer scores with the int8 graph (<see cref="RetinaNetTrainer.Options.Int8Scoring"/>).</summary>
    public bool IsInt8 { get; private init; }

    /// <summary>Per-epoch mean loss and validation metrics of the training that made this model.</summary>
    public IReadOnlyList<EpochRecord> History { get; }

    /// <summary>The image column read when scoring.</summary>
    public string ImageColumnName { get; }

    /// <summary>Class names, in key order (key 1 is the first).</summary>
    public IReadOnlyList<string> ClassNames => Model.ClassNames;

    /// <summary>Square size images are letterboxed to.</summary>
    public int ImageSize => Model.CanvasSize;

    /// <summary>The anchors the network was trained with.</summary>
    public AnchorOptions Anchors => Model.AnchorOptions.Clone();

    /// <summary>The ML.NET transforms that score (and that <c>mlContext.Model.Save</c> writes).</summary>
    public ITransformer ScoringChain => _chain;

    /// <inheritdoc />
    public bool IsRowToRowMapper => _chain.IsRowToRowMapper;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => _chain.GetOutputSchema(inputSchema);

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => _chain.GetRowToRowMapper(inputSchema);

    /// <inheritdoc />
    public IDataView Transform(IDataView input) => _chain.Transform(input);

    /// <summary>
    /// Writes the network, box decoding and class-wise NMS as one ONNX graph (opset 17, dynamic batch) that plain ONNX
    /// Runtime runs with no .NET code. Inputs: <c>images</c>, float32 (N, 3, S, S) with S = <see cref="ImageSize"/>, RGB
    /// in [0, 255], each image resized as ML.NET's <c>ResizeImages(S, S, ResizingKind.IsoPad)</c> does (aspect kept,
    /// centred, black padding; scale min(S/W, S/H), content ⌊W·scale⌋ × ⌊H·scale⌋ at ⌊(S − W·scale)/2⌋, ⌊(S − H·scale)/2⌋);
    /// <c>image_sizes</c>, float32 (N, 2), each original height and width. Outputs: <c>boxes</c> (N, D, 4) x0 y0 x1 y1 in
    /// original pixels, <c>scores</c> (N, D) descending with −1 as padding, <c>labels</c> (N, D) int64 0-based class
    /// indices (see <see cref="ClassNames"/>), <c>count</c> (N) int64 valid detections. Written to a temporary name, flushed and
    /// renamed: a failure (a full disk) throws an <see cref="IOException"/> and leaves any earlier file at <paramref name="path"/> as it was.
    /// </summary>
    public void ExportToOnnx(string path)
    {
        if (IsInt8)
        {
            var graph = Onnx.RetinaNetOnnxExporter.ToPublicNames(File.ReadAllBytes(_onnxPath));
            Runtime.SafeFile.Write(path, stream => stream.Write(graph));
            return;
        }
        Runtime.SafeFile.Write(path, stream => Onnx.RetinaNetOnnxExporter.Export(Model, stream, Onnx.RetinaNetOnnxExporter.PublicNames));
    }

    /// <summary>
    /// Writes the int8 form of the graph <see cref="ExportToOnnx(string)"/> writes (same inputs and outputs): per-channel
    /// int8 convolution weights, int32 biases and uint8 activations with ranges calibrated on
    /// <paramref name="calibration"/>'s images, as QuantizeLinear/DequantizeLinear pairs ONNX Runtime fuses into its int8
    /// kernels; the input normalisation, box decoding and NMS stay float32. When <see cref="Int8Calibration.EvaluationData"/>
    /// is set, the float32 and int8 models are both evaluated on it and the report holds both metrics.
    /// </summary>
    public Int8Report ExportToOnnx(string path, Int8Calibration calibration)
    {
        if (IsInt8)
            throw new InvalidOperationException("This transformer already scores with an int8 graph (Options.Int8Scoring); ExportToOnnx(path) "
                + "writes it.");
        using var graph = new MemoryStream();
        Onnx.RetinaNetOnnxExporter.Export(Model, graph, Onnx.RetinaNetOnnxExporter.ChainNames);
        return Int8Scoring.Export(_chain, graph.ToArray(), calibration, path);
    }

    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)_chain).Save(ctx);

    /// <summary>Releases the network, ONNX Runtime's session and the temporary ONNX file.</summary>
    public void Dispose()
    {
        (_chain as IDisposable)?.Dispose();
        Model.Dispose();
        Runtime.SafeFile.DeleteQuietly(_onnxPath);
    }
}

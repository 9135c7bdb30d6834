using System.Globalization;
using Microsoft.ML.RetinaNet.AnchorTuning;
using Microsoft.ML.RetinaNet.Data;
using Microsoft.ML.RetinaNet.Detection;
using Microsoft.ML.RetinaNet.Modeling;
using Microsoft.ML.RetinaNet.Runtime;
using Microsoft.ML.RetinaNet.Scoring;
using Microsoft.ML.RetinaNet.Training;
using Microsoft.ML.RetinaNet.Weights;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet;

/// <summary>
/// Trains RetinaNet (torchvision's architecture, in TorchSharp) on an IDataView with an image column, a vector of
/// label keys and a vector of boxes (x0 y0 x1 y1, image pixels), and returns a <see cref="RetinaNetTransformer"/>.
/// Create it with <c>mlContext.MulticlassClassification.Trainers.RetinaNet(...)</c>.
/// </summary>
public sealed partial class RetinaNetTrainer : IEstimator<RetinaNetTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly Options _options;

    internal RetinaNetTrainer(IHostEnvironment env, Options options)
    {
        _env = env ?? throw new ArgumentNullException(nameof(env));
        _options = (options ?? throw new ArgumentNullException(nameof(options))).Clone();
    }

    /// <summary>Trains on <paramref name="input"/>.</summary>
    public RetinaNetTransformer Fit(IDataView input) => Fit(input, CancellationToken.None);

    /// <summary>Trains on <paramref name="input"/>; <paramref name="cancellation"/> (or ML.NET's CancelExecution) stops it between steps.</summary>
    public RetinaNetTransformer Fit(IDataView input, CancellationToken cancellation)
    {
        if (input is null) throw new ArgumentNullException(nameof(input));
        var o = Resolve(_options);
        using var memory = NativeMemoryReuse.Begin(o.ReuseNativeMemory);
        var host = _env.Register(nameof(RetinaNetTrainer));
        using var channel = host.Start("RetinaNet");
        using var progress = host.StartProgressChannel("RetinaNet training");
        var (gpu, fallback) = MLNetInternals.GpuSettings(_env);
        var device = TorchDevice.Select(gpu, fallback);
        // Nothing here draws from TorchSharp's process-global generator (weights come from WeightInit.Seeded, data order and
        // augmentation from seeded System.Random streams), so a fit neither reads nor disturbs what other threads draw.

        using var train = DatasetReader.Read(input, o.ImageColumnName, o.LabelColumnName, o.BoundingBoxColumnName, o.ImageSize, "training data",
            cancellation, o.SkipInvalidRows);
        using var validation = o.ValidationSet == null ? null
            : DatasetReader.Read(o.ValidationSet, o.ImageColumnName, o.LabelColumnName, o.BoundingBoxColumnName, o.ImageSize, "validation set",
                cancellation, o.SkipInvalidRows);
        if (validation != null && !validation.ClassNames.SequenceEqual(train.ClassNames))
            throw new ArgumentException($"The validation set's label keys ({string.Join(", ", validation.ClassNames)}) differ from the training "
                + $"data's ({string.Join(", ", train.ClassNames)}); map both with the same fitted MapValueToKey transformer.");
        channel.Info(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture,
            $"training on {train.Examples.Count} images with {train.ObjectCount} objects of {train.ClassNames.Length} classes "
                + $"({string.Join(", ", train.ClassNames)}); "
                + $"{(o.PretrainedBackbone == PretrainedBackbone.None ? $"ResNet-{o.Depth}" : $"pretrained {o.PretrainedBackbone}")} {o.Version}, "
                + $"{o.ImageSize}×{o.ImageSize}, batch {o.BatchSize}, {o.Epochs} epochs, device {device.type}"));
        ReportSkipped(channel, train, "training data");
        if (validation != null) ReportSkipped(channel, validation, "validation set");
        if (train.ClippedBoxes > 0)
            channel.Warning(MessageSensitivity.None, $"{train.ClippedBoxes} box(es) reached outside their image and were clipped to it.");

        if (o.TuneAnchors)
            o.Anchors = TuneAnchors(o, train, channel);
        var network = CreateNetwork(o, train.ClassNames.Length, channel);
        try
        {
            network.to(device);
            var model = new DetectorModel(network, o.Anchors,
                new PostProcessSettings(o.ScoreThreshold, o.TopKCandidates, o.NmsThreshold, o.MaxDetectionsPerImage), o.ImageSize, train.ClassNames,
                    device);
            var summary = new TrainingLoop(o, model, channel, progress, MLNetInternals.CancellationProbe(_env), cancellation).Run(train, validation);
            channel.Info(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture,
                $"trained {summary.Epochs} epochs, {summary.Steps} steps in {summary.Seconds:F1} s; the steps alone: {summary.StepSeconds:F1} "
                    + $"s, {summary.Images / Math.Max(summary.StepSeconds, 1e-9):F2} images/s"));
            ReportSkipped(channel, train, "training data");
            if (validation != null) ReportSkipped(channel, validation, "validation set");
            var outputs = new OutputColumns(o.PredictedLabelColumnName, o.ScoreColumnName, o.PredictedBoundingBoxColumnName);
            var int8 = !o.Int8Scoring ? null : new Int8Calibration
            {
                Images = input, MaxImages = o.Int8CalibrationImages, EvaluationData = o.ValidationSet,
                LabelColumnName = o.LabelColumnName, BoundingBoxColumnName = o.BoundingBoxColumnName,
                PredictedLabelColumnName = o.PredictedLabelColumnName, ScoreColumnName = o.ScoreColumnName,
                    PredictedBoundingBoxColumnName = o.PredictedBoundingBoxColumnName,
            };
            return RetinaNetTransformer.Create(model, input, o.ImageColumnName, outputs, gpu, fallback, summary.History, int8,
                report => channel.Info(MessageSensitivity.None, "int8 scoring: " + report
                    + (report.Float32 is null ? "" : " on the validation set")));
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    private sealed class ImagePathRow
    {
        public string ImagePath { get; set; } = "";
    }

    /// <summary>
    /// The fitted transformer of a torchvision RetinaNet state_dict (<c>.pth</c>, e.g. COCO weights), with no training: the
    /// network these options describe (<c>Depth</c>, <c>Version</c>, <c>Anchors</c>; BatchNorm frozen as torchvision
    /// stores it) holds the file's weights, and scores through the same ONNX chain as a trained model (letterboxed to
    /// <c>ImageSize</c>, the post-processing options). <paramref name="classNames"/> are the classes of the file's
    /// classification layer in index order (for torchvision's COCO weights, its 91 category names including
    /// "__background__" and "N/A"); a different count is an error naming both.
    /// </summary>
    public RetinaNetTransformer FromTorchvision(string pthPath, IReadOnlyList<string> classNames)
    {
        if (string.IsNullOrEmpty(pthPath)) throw new ArgumentException("The path of a torchvision RetinaNet .pth file is needed.", nameof(pthPath));
        if (!File.Exists(pthPath)) throw new FileNotFoundException($"The weights file '{pthPath}' does not exist.", pthPath);
        if (classNames is null
            || classNames.Count == 0) throw new ArgumentException("The class names of the file's classification layer are needed (one per class, in "
                + "index order).", nameof(classNames));
        if (classNames.Distinct(StringComparer.Ordinal).Count() != classNames.Count)
            throw new ArgumentException($"Class names must be distinct; "
                + $"repeated: {string.Join(", ", classNames.GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key))}.",
                nameof(classNames));
        var copy = _options.Clone();
        copy.PretrainedWeightsPath = null; // resolved below as a whole RetinaNet, never as a backbone
        copy.PretrainedBackbone = PretrainedBackbone.None;
        var o = Resolve(copy);
        var (gpu, fallback) = MLNetInternals.GpuSettings(_env);
        var device = TorchDevice.Select(gpu, fallback);
        var weights = TorchvisionWeights.Read(pthPath);
        RetinaNetNetwork? network = null;
        try
        {
            int perLocation = o.Anchors.HeadAnchorsPerLocation;
            if (weights.TryGetValue("head.classification_head.cls_logits.bias", out var logits)
                && logits.shape[0] != (long)classNames.Count * perLocation)
                throw new ArgumentException($"'{pthPath}' has a classification layer for {logits.shape[0] / perLocation} classes " +
                    $"({logits.shape[0]} outputs, {perLocation} anchors per location) but {classNames.Count} class names were given; " +
                    "give one name per class of the file, in index order.",
                    nameof(classNames));
            network = new RetinaNetNetwork(NetworkConfig.For(o.Anchors, classNames.Count, o.Depth, o.Version, BackboneNorm.FrozenBatchNorm));
            TorchvisionWeights.Load(network, weights, pthPath, PretrainedWeightsKind.RetinaNet, keepClassLogitsOnClassCountChange: false);
            network.to(device);
            network.eval();
            var model = new DetectorModel(network, o.Anchors,
                new PostProcessSettings(o.ScoreThreshold, o.TopKCandidates, o.NmsThreshold, o.MaxDetectionsPerImage), o.ImageSize,
                    classNames.ToArray(), device);
            var ml = new MLContext(seed: 0);
            var paths = ml.Data.LoadFromEnumerable(Array.Empty<ImagePathRow>());
            var images = ml.Transforms.LoadImages(o.ImageColumnName, null, nameof(ImagePathRow.ImagePath)).Fit(paths).Transform(paths);
            var outputs = new OutputColumns(o.PredictedLabelColumnName, o.ScoreColumnName, o.PredictedBoundingBoxColumnName);
            return RetinaNetTransformer.Create(model, images, o.ImageColumnName, outputs, gpu, fallback, Array.Empty<EpochRecord>());
        }
        catch
        {
            network?.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    /// <summary>The input columns plus PredictedLabel, Score and PredictedBoundingBoxes; checks the input columns' types.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var o = _options;
        Require(inputSchema, o.ImageColumnName, c => c.Kind == SchemaShape.Column.VectorKind.Scalar
            && c.ItemType is Microsoft.ML.Transforms.Image.ImageDataViewType, "an image (MLImage, from LoadImages)");
        Require(inputSchema, o.LabelColumnName, c => c.Kind != SchemaShape.Column.VectorKind.Scalar && c.IsKey && c.ItemType.RawType == typeof(uint),
            "a vector of UInt32 keys (one class per object; use mlContext.Transforms.Conversion.MapValueToKey)");
        Require(inputSchema, o.BoundingBoxColumnName, c => c.Kind != SchemaShape.Column.VectorKind.Scalar
            && c.ItemType == Microsoft.ML.Data.NumberDataViewType.Single, "a vector of Single (x0, y0, x1, y1 per object)");
        return new OutputColumns(o.PredictedLabelColumnName, o.ScoreColumnName, o.PredictedBoundingBoxColumnName).AppendTo(inputSchema);
    }

    private static void ReportSkipped(IChannel channel, DetectionDataset data, string dataName)
    {
        if (data.Skipped.Count > 0)
            channel.Warning(MessageSensitivity.None, $"SkipInvalidRows: {data.Skipped.Count} row(s) of the {dataName} were skipped " +
                $"({string.Join(", ", data.Skipped.FirstNames)}{(data.Skipped.Count > data.Skipped.FirstNames.Count ? ", …" : "")}):\n" +
                $"{data.Skipped.Details}");
    }

    private static void Require(SchemaShape shape, string name, Func<SchemaShape.Column, bool> ok, string expected)
    {
        var column = shape.FirstOrDefault(c => c.Name == name);
        if (column.Name == null)
            throw new ArgumentException($"The training data has no column '{name}' ({expected}). Its "
                + $"columns: {string.Join(", ", shape.Select(c => $"{c.Name} ({Describe(c)})"))}.");
        if (!ok(column))
            throw new ArgumentException($"Column '{name}' of the training data must be {expected} but is {Describe(column)}.");
    }

    /// <summary>A shape column's type written as ML.NET writes DataViewTypes: Vector&lt;Single&gt;, Key&lt;UInt32&gt;.</summary>
    private static string Describe(SchemaShape.Column c)
    {
        string item = c.IsKey ? $"Key<{c.ItemType.RawType.Name}>" : c.ItemType.ToString() ?? "?";
        return c.Kind == SchemaShape.Column.VectorKind.Scalar ? item : $"Vector<{item}>";
    }

    private static AnchorOptions TuneAnchors(Options o, DetectionDataset train, IChannel channel)
    {
        var boxes = new BoxSet(train.Examples.SelectMany(e => e.CanvasBoxes).ToArray(),
            train.Examples.SelectMany(e => e.Labels.Select(l => (int)l)).ToArray(), train.ClassNames);
        var result = AnchorTuner.Tune(boxes, new AnchorTuningOptions
        {
            BaseAnchors = o.Anchors, ImageSize = o.ImageSize, ScaleCount = o.Anchors.Scales.Length, RatioCount = o.Anchors.Ratios.Length,
            IouThreshold = o.ForegroundIouThreshold, Seed = o.Seed,
        });
        channel.Info(MessageSensitivity.None, "anchor tuning:\n" + result.ToMarkdown());
        channel.Info(MessageSensitivity.None, $"training with tuned anchors {result.Anchors}: {result.Coverage} (start: {result.BaseCoverage})");
        return result.Anchors;
    }

    internal static RetinaNetNetwork CreateNetwork(Options o, int classCount, IChannel channel)
    {
        bool pthFile = !string.IsNullOrEmpty(o.PretrainedWeightsPath);
        bool packaged = o.PretrainedBackbone == PretrainedBackbone.ResNet18;
        bool pretrained = pthFile || packaged;
        Dictionary<string, Tensor>? backbone = null;
        string? backboneSource = null;
        if (packaged)
        {
            (backbone, var model) = MLNetResNet18.Load(o.DnnImageModelsDirectory);
            backboneSource = model;
            channel.Info(MessageSensitivity.None,
                $"backbone: ML.NET's ImageNet ResNet-18 ({MLNetResNet18.PackageId}, blocks [{string.Join(", ", MLNetResNet18.StageBlocks)}]) "
                    + $"from {model}");
        }
        using var seeded = WeightInit.Seeded(o.Seed); // independent of TorchSharp's global generator, which other threads may use
        var network = new RetinaNetNetwork(NetworkConfig.For(o.Anchors, classCount, o.Depth, o.Version,
            pretrained ? BackboneNorm.FrozenBatchNorm : BackboneNorm.BatchNorm, packaged ? MLNetResNet18.StageBlocks : null));
        try
        {
            if (backbone != null)
                TorchvisionWeights.Load(network, backbone, backboneSource!, PretrainedWeightsKind.Backbone, keepClassLogitsOnClassCountChange: false);
            else if (pthFile)
                TorchvisionWeights.Load(network, o.PretrainedWeightsPath!, PretrainedWeightsKind.Auto, keepClassLogitsOnClassCountChange: true,
                    warn: message => channel.Warning(MessageSensitivity.None, message));
            network.Body.SetTrainableStages(o.TrainableBackboneStages ?? (pretrained ? 3 : 5));
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
        finally
        {
            if (backbone != null)
                foreach (var t in backbone.Values) t.Dispose();
        }
    }

    /// <summary>A validated copy of the options with the version-dependent defaults filled in.</summary>
    internal static Options Resolve(Options options)
    {
        var o = options.Clone();
        o.BoxLoss ??= o.Version == RetinaNetVersion.V2 ? BoxLossKind.GIoU : BoxLossKind.L1;
        Check(o.ImageSize >= 64 && o.ImageSize <= 2048 && o.ImageSize % 32 == 0, nameof(o.ImageSize), o.ImageSize,
            "a multiple of 32 between 64 and 2048");
        Check(o.BatchSize >= 1 && o.BatchSize <= 256, nameof(o.BatchSize), o.BatchSize, "between 1 and 256");
        Check(o.Epochs >= 1, nameof(o.Epochs), o.Epochs, "at least 1");
        Check(o.LearningRate > 0 && double.IsFinite(o.LearningRate), nameof(o.LearningRate), o.LearningRate, "a positive number");
        Check(o.WeightDecay >= 0, nameof(o.WeightDecay), o.WeightDecay, "0 or more");
        Check(o.Momentum >= 0 && o.Momentum < 1, nameof(o.Momentum), o.Momentum, "in [0, 1)");
        Check(o.WarmupSteps >= 0, nameof(o.WarmupSteps), o.WarmupSteps, "0 or more");
        Check(o.WarmupFactor > 0 && o.WarmupFactor <= 1, nameof(o.WarmupFactor), o.WarmupFactor, "in (0, 1]");
        Check(o.StepEpochs.All(e => e >= 1), nameof(o.StepEpochs), string.Join(",", o.StepEpochs), "epochs counted from 1");
        Check(o.GradientClipNorm >= 0, nameof(o.GradientClipNorm), o.GradientClipNorm, "0 (off) or more");
        Check(o.TrainableBackboneStages is null or >= 0 and <= 5, nameof(o.TrainableBackboneStages), o.TrainableBackboneStages ?? 0,
            "between 0 and 5");
        Check(o.BackgroundIouThreshold > 0 && o.BackgroundIouThreshold <= o.ForegroundIouThreshold && o.ForegroundIouThreshold <= 1,
            nameof(o.BackgroundIouThreshold), o.BackgroundIouThreshold,
                $"in (0, ForegroundIouThreshold = {o.ForegroundIouThreshold}] with ForegroundIouThreshold at most 1");
        Check(o.ScoreThreshold >= 0 && o.ScoreThreshold < 1, nameof(o.ScoreThreshold), o.ScoreThreshold, "in [0, 1)");
        Check(o.NmsThreshold > 0 && o.NmsThreshold <= 1, nameof(o.NmsThreshold), o.NmsThreshold, "in (0, 1]");
        Check(o.TopKCandidates >= 1, nameof(o.TopKCandidates), o.TopKCandidates, "at least 1");
        Check(o.MaxDetectionsPerImage >= 1, nameof(o.MaxDetectionsPerImage), o.MaxDetectionsPerImage, "at least 1");
        Check(o.Int8CalibrationImages >= 1, nameof(o.Int8CalibrationImages), o.Int8CalibrationImages, "at least 1");
        Check(o.EarlyStoppingPatience >= 0, nameof(o.EarlyStoppingPatience), o.EarlyStoppingPatience, "0 (off) or more");
        Check(o.HorizontalFlipProbability is >= 0 and <= 1, nameof(o.HorizontalFlipProbability), o.HorizontalFlipProbability, "between 0 and 1");
        Check(o.ScaleJitterMin > 0 && o.ScaleJitterMin <= o.ScaleJitterMax, nameof(o.ScaleJitterMin), o.ScaleJitterMin,
            $"positive and at most ScaleJitterMax = {o.ScaleJitterMax}");
        Check(o.LogEveryNSteps >= 1, nameof(o.LogEveryNSteps), o.LogEveryNSteps, "at least 1");
        Check(o.CheckpointEveryNSteps >= 0, nameof(o.CheckpointEveryNSteps), o.CheckpointEveryNSteps, "0 (only after each epoch) or more");
        if (o.PretrainedBackbone != PretrainedBackbone.None && !string.IsNullOrEmpty(o.PretrainedWeightsPath))
            throw new ArgumentException($"RetinaNet options PretrainedBackbone ({o.PretrainedBackbone}) and PretrainedWeightsPath "
                + $"('{o.PretrainedWeightsPath}') both give backbone weights; set one of them.");
        if (o.PretrainedBackbone == PretrainedBackbone.ResNet18)
            o.Depth = 18; // the packaged network is a basic-block ResNet; its [2, 2, 2, 3] layout comes with it
        else if (o.PretrainedBackbone != PretrainedBackbone.None)
            throw new ArgumentOutOfRangeException(nameof(o.PretrainedBackbone), o.PretrainedBackbone,
                "RetinaNet option PretrainedBackbone must be None or ResNet18.");
        ResNetBody.LayerCounts(o.Depth);
        if (o.Anchors is null)
            throw new ArgumentException("Options.Anchors must not be null; use new AnchorOptions() for torchvision's defaults.");
        o.Anchors.Validate();
        return o;
    }

    private static void Check(bool ok, string name, object value, string expected)
    {
        if (!ok)
            throw new ArgumentOutOfRangeException(name, value,
                $"RetinaNet option {name} is {Convert.ToString(value, CultureInfo.InvariantCulture)}; it must be {expected}.");
    }
}

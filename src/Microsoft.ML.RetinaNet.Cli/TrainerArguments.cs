using System.CommandLine;
using Microsoft.ML.RetinaNet.Modeling;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>
/// Every <see cref="RetinaNetTrainer.Options"/> setting as a command-line flag (kebab-case of the property name), with
/// the verb's own defaults. Column names and the validation data are not flags: the verbs build those.
/// </summary>
internal sealed class TrainerArguments
{
    private readonly List<Action<ParseResult, RetinaNetTrainer.Options>> _apply = new();

    public TrainerArguments(RetinaNetTrainer.Options defaults)
    {
        Add("--depth", "ResNet depth: 18, 34, 50, 101 or 152", defaults.Depth, (o, v) => o.Depth = v);
        Add("--version", "V1 (torchvision's retinanet_resnet50_fpn) or V2 (GroupNorm heads, P6 from C5, GIoU)", defaults.Version, (o, v)
            => o.Version = v);
        Add<string?>("--pretrained", "torchvision .pth file (a RetinaNet or an ImageNet ResNet)", defaults.PretrainedWeightsPath, (o, v)
            => o.PretrainedWeightsPath = v);
        Add("--pretrained-backbone",
            "None, or ResNet18: ML.NET's ImageNet ResNet-18 from the Microsoft.ML.DnnImageFeaturizer.ResNet18 package (replaces --depth)",
                defaults.PretrainedBackbone, (o, v) => o.PretrainedBackbone = v);
        Add<string?>("--dnn-image-models-directory", "folder holding ResNet18Onnx/ and ResNetPrepOnnx/ (default: DnnImageModels beside the tool)",
            defaults.DnnImageModelsDirectory, (o, v) => o.DnnImageModelsDirectory = v);
        Add("--image-size", "letterbox size, a multiple of 32", defaults.ImageSize, (o, v) => o.ImageSize = v);
        Add("--epochs", "passes over the training data", defaults.Epochs, (o, v) => o.Epochs = v);
        Add("--batch-size", "images per step", defaults.BatchSize, (o, v) => o.BatchSize = v);
        Add("--optimizer", "Sgd or AdamW", defaults.Optimizer, (o, v) => o.Optimizer = v);
        Add("--learning-rate", "peak learning rate", defaults.LearningRate, (o, v) => o.LearningRate = v);
        Add("--momentum", "SGD momentum", defaults.Momentum, (o, v) => o.Momentum = v);
        Add("--weight-decay", "weight decay", defaults.WeightDecay, (o, v) => o.WeightDecay = v);
        Add("--warmup-steps", "linear warm-up steps", defaults.WarmupSteps, (o, v) => o.WarmupSteps = v);
        Add("--warmup-factor", "learning-rate factor at the first warm-up step", defaults.WarmupFactor, (o, v) => o.WarmupFactor = v);
        Add("--schedule", "Constant, Step or Cosine", defaults.Schedule, (o, v) => o.Schedule = v);
        Add("--step-epochs", "epochs at which the Step schedule multiplies by --step-gamma", defaults.StepEpochs, (o, v) => o.StepEpochs = v);
        Add("--step-gamma", "factor of the Step schedule", defaults.StepGamma, (o, v) => o.StepGamma = v);
        Add("--gradient-clip-norm", "clip the gradient norm (0: off)", defaults.GradientClipNorm, (o, v) => o.GradientClipNorm = v);
        Add("--trainable-backbone-stages", "backbone stages that train, 0-5 (default: 5 from scratch, 3 with --pretrained or --pretrained-backbone)",
            defaults.TrainableBackboneStages, (o, v) => o.TrainableBackboneStages = v);
        Add("--horizontal-flip", "probability of a horizontal flip", defaults.HorizontalFlipProbability, (o, v) => o.HorizontalFlipProbability = v);
        Add("--scale-jitter-min", "smallest random rescale", defaults.ScaleJitterMin, (o, v) => o.ScaleJitterMin = v);
        Add("--scale-jitter-max", "largest random rescale", defaults.ScaleJitterMax, (o, v) => o.ScaleJitterMax = v);
        Add("--focal-alpha", "focal loss alpha", defaults.FocalAlpha, (o, v) => o.FocalAlpha = v);
        Add("--focal-gamma", "focal loss gamma", defaults.FocalGamma, (o, v) => o.FocalGamma = v);
        Add("--box-loss", "L1, SmoothL1 or GIoU (default: by version)", defaults.BoxLoss, (o, v) => o.BoxLoss = v);
        Add("--foreground-iou", "IoU at or above which an anchor is foreground", defaults.ForegroundIouThreshold, (o, v)
            => o.ForegroundIouThreshold = v);
        Add("--background-iou", "IoU below which an anchor is background", defaults.BackgroundIouThreshold, (o, v) => o.BackgroundIouThreshold = v);
        Add("--score-threshold", "minimum detection score", defaults.ScoreThreshold, (o, v) => o.ScoreThreshold = v);
        Add("--top-k-candidates", "candidates per pyramid level before NMS", defaults.TopKCandidates, (o, v) => o.TopKCandidates = v);
        Add("--nms-threshold", "class-wise NMS IoU threshold", defaults.NmsThreshold, (o, v) => o.NmsThreshold = v);
        Add("--max-detections", "most detections per image", defaults.MaxDetectionsPerImage, (o, v) => o.MaxDetectionsPerImage = v);
        Add("--anchor-sizes", "anchor base size per level (P3..P7)", defaults.Anchors.Sizes, (o, v) => o.Anchors.Sizes = v);
        Add("--anchor-strides", "anchor stride per level", defaults.Anchors.Strides, (o, v) => o.Anchors.Strides = v);
        Add("--anchor-scales", "anchor scales (multiples of the base size)", defaults.Anchors.Scales, (o, v) => o.Anchors.Scales = v);
        Add("--anchor-ratios", "anchor aspect ratios (height / width)", defaults.Anchors.Ratios, (o, v) => o.Anchors.Ratios = v);
        Add("--tune-anchors", "tune anchor scales and ratios on the training boxes first", defaults.TuneAnchors, (o, v) => o.TuneAnchors = v);
        Add("--early-stopping-patience", "stop after this many epochs without a better validation mAP (0: off)", defaults.EarlyStoppingPatience, (o,
            v) => o.EarlyStoppingPatience = v);
        Add("--seed", "seed for initialisation, shuffling and augmentation", defaults.Seed, (o, v) => o.Seed = v);
        Add<string?>("--checkpoints", "folder for a checkpoint after each epoch", defaults.CheckpointDirectory, (o, v) => o.CheckpointDirectory = v);
        Add("--checkpoint-every-n-steps", "also write a checkpoint every this many steps (0: only after each epoch)", defaults.CheckpointEveryNSteps,
            (o, v) => o.CheckpointEveryNSteps = v);
        Add("--resume", "continue from the newest valid checkpoint in --checkpoints", defaults.ResumeFromCheckpoint, (o, v)
            => o.ResumeFromCheckpoint = v);
        Add("--skip-invalid-rows", "skip (and count) unreadable images and rows whose annotations fail validation instead of stopping",
            defaults.SkipInvalidRows, (o, v) => o.SkipInvalidRows = v);
        Add("--reuse-native-memory", "keep memory freed by each step for the next one (glibc mallopt; false to leave malloc alone)",
            defaults.ReuseNativeMemory, (o, v) => o.ReuseNativeMemory = v);
        Add("--precision", "Float32, or BFloat16: convolutions and their gradients in bfloat16 with float32 master weights, losses and optimiser",
            defaults.Precision, (o, v) => o.Precision = v);
        Add("--int8-scoring",
            "score with an int8 graph calibrated on training images (model.zip and model.onnx are int8; float32 and int8 validation metrics logged)",
                defaults.Int8Scoring, (o, v) => o.Int8Scoring = v);
        Add("--int8-calibration-images", "training images the int8 ranges are calibrated on", defaults.Int8CalibrationImages, (o, v)
            => o.Int8CalibrationImages = v);
        Add("--log-every-n-steps", "log the loss every this many steps", defaults.LogEveryNSteps, (o, v) => o.LogEveryNSteps = v);
    }

    /// <summary>The flags, to add to a command.</summary>
    public List<Option> All { get; } = new();

    /// <summary>The options the flags describe (a new object; the defaults given to the constructor are untouched).</summary>
    public RetinaNetTrainer.Options Read(ParseResult parse)
    {
        var options = new RetinaNetTrainer.Options { Anchors = new AnchorOptions() };
        foreach (var apply in _apply)
            apply(parse, options);
        return options;
    }

    /// <summary>The flag named <paramref name="name"/>, so that a verb can read a value it also needs itself.</summary>
    public T Value<T>(ParseResult parse, string name) => parse.GetValue((Option<T>)All.Single(o => o.Name == name))!;

    // Options whose flag is not the kebab-case of the property name.
    private static readonly Dictionary<string, string> Renamed = new(StringComparer.Ordinal)
    {
        ["PretrainedWeightsPath"] = "--pretrained", ["HorizontalFlipProbability"] = "--horizontal-flip",
        ["ForegroundIouThreshold"] = "--foreground-iou", ["BackgroundIouThreshold"] = "--background-iou",
        ["MaxDetectionsPerImage"] = "--max-detections", ["CheckpointDirectory"] = "--checkpoints", ["ResumeFromCheckpoint"] = "--resume",
    };

    /// <summary>The flag of a <see cref="RetinaNetTrainer.Options"/> property, e.g. Epochs → --epochs.</summary>
    public static string FlagFor(string property) =>
        Renamed.TryGetValue(property, out string? flag) ? flag
            : "--" + System.Text.RegularExpressions.Regex.Replace(property, "(?<=[a-z0-9])([A-Z])", "-$1").ToLowerInvariant();

    private void Add<T>(string name, string description, T defaultValue, Action<RetinaNetTrainer.Options, T> set)
    {
        // System.CommandLine shows no default for a bool option; one that is on unless turned off says so
        if (defaultValue is true)
            description += $" [default: true; {name} false turns it off]";
        var option = new Option<T>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        if (typeof(T).IsArray)
            option.AllowMultipleArgumentsPerToken = true;
        All.Add(option);
        _apply.Add((parse, o) => set(o, parse.GetValue(option)!));
    }
}

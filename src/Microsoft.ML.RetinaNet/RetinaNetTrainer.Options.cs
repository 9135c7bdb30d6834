using Microsoft.ML.RetinaNet.Modeling;

namespace Microsoft.ML.RetinaNet;

public sealed partial class RetinaNetTrainer
{
    /// <summary>
    /// Everything that configures training. Defaults follow torchvision's RetinaNet where it has one. <see cref="Fit(IDataView)"/>
    /// never changes the options; what training learns (weights, tuned anchors) lives in the fitted transformer.
    /// </summary>
    public sealed class Options
    {
        /// <summary>Image column (<c>MLImage</c>, from <c>LoadImages</c>). Default "Image".</summary>
        public string ImageColumnName { get; set; } = DefaultColumnNames.Image;

        /// <summary>Label column: variable-length vector of keys, one per object. Default "Label".</summary>
        public string LabelColumnName { get; set; } = DefaultColumnNames.Label;

        /// <summary>Box column: variable-length vector of Single, x0 y0 x1 y1 per object, in image pixels. Default "BoundingBoxes".</summary>
        public string BoundingBoxColumnName { get; set; } = DefaultColumnNames.BoundingBoxes;

        /// <summary>Output column of predicted label keys. Default "PredictedLabel".</summary>
        public string PredictedLabelColumnName { get; set; } = DefaultColumnNames.PredictedLabel;

        /// <summary>Output column of scores, one per detection, descending. Default "Score".</summary>
        public string ScoreColumnName { get; set; } = DefaultColumnNames.Score;

        /// <summary>Output column of predicted boxes, 4 per detection, in the original image's pixels. Default "PredictedBoundingBoxes".</summary>
        public string PredictedBoundingBoxColumnName { get; set; } = DefaultColumnNames.PredictedBoundingBoxes;

        /// <summary>ResNet depth: 18, 34, 50, 101 or 152. Default 50.</summary>
        public int Depth { get; set; } = 50;

        /// <summary>torchvision variant: V1 (P6 from P5, plain heads) or V2 (P6 from C5, GroupNorm heads). Default V1.</summary>
        public RetinaNetVersion Version { get; set; } = RetinaNetVersion.V1;

        /// <summary>
        /// Optional torchvision <c>.pth</c> state_dict: a whole RetinaNet, or an ImageNet ResNet for the backbone. With a file,
        /// the backbone uses FrozenBatchNorm as torchvision does when fine-tuning. Default none (random initialisation).
        /// </summary>
        public string? PretrainedWeightsPath { get; set; }

        /// <summary>
        /// Start the backbone from an ImageNet network that ships as a package (<see cref="RetinaNet.PretrainedBackbone.ResNet18"/>:
        /// add the package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>, whose build copies the network into the output's
        /// <c>DnnImageModels</c> folder). The backbone is then that network — <see cref="Depth"/> is not used — with
        /// FrozenBatchNorm and, unless <see cref="TrainableBackboneStages"/> says otherwise, torchvision's 3 trainable stages.
        /// Cannot be combined with <see cref="PretrainedWeightsPath"/>. Default None.
        /// </summary>
        public PretrainedBackbone PretrainedBackbone { get; set; } = PretrainedBackbone.None;

        /// <summary>
        /// Folder that holds ML.NET's DNN image models (<c>ResNet18Onnx/ResNet18.onnx</c>, <c>ResNetPrepOnnx/ResNetPreprocess.onnx</c>),
        /// as ML.NET's <c>DnnImageModelSelector</c> takes it. Default null: <c>DnnImageModels</c> beside the application, then the
        /// package's folder in the NuGet cache (where a notebook's <c>#r "nuget: …"</c> puts it).
        /// </summary>
        public string? DnnImageModelsDirectory { get; set; }

        /// <summary>Square size images are letterboxed to (aspect kept, centred, padded with black); a multiple of 32. Default 512.</summary>
        public int ImageSize { get; set; } = 512;

        /// <summary>Passes over the training data. Default 12.</summary>
        public int Epochs { get; set; } = 12;

        /// <summary>Images per step. Default 2.</summary>
        public int BatchSize { get; set; } = 2;

        /// <summary>Optimiser. Default SGD.</summary>
        public RetinaNetOptimizer Optimizer { get; set; } = RetinaNetOptimizer.Sgd;

        /// <summary>Peak learning rate. Default 0.01 (torchvision's 0.01 for batch 16 is too high for batch 2 from scratch; lower it with
        /// small batches if training diverges).</summary>
        public double LearningRate { get; set; } = 0.01;

        /// <summary>SGD momentum. Default 0.9.</summary>
        public double Momentum { get; set; } = 0.9;

        /// <summary>Weight decay. Default 1e-4.</summary>
        public double WeightDecay { get; set; } = 1e-4;

        /// <summary>Steps of linear warm-up from <see cref="WarmupFactor"/> × the learning rate. Default 100.</summary>
        public int WarmupSteps { get; set; } = 100;

        /// <summary>Starting fraction of the learning rate during warm-up. Default 0.001.</summary>
        public double WarmupFactor { get; set; } = 0.001;

        /// <summary>Schedule after warm-up. Default Step.</summary>
        public LearningRateSchedule Schedule { get; set; } = LearningRateSchedule.Step;

        /// <summary>Epochs (1-based, counted from the start) after which a Step schedule multiplies by <see cref="StepGamma"/>. Default 8
        /// and 11 (torchvision's 1× schedule, scaled to 12 epochs).</summary>
        public int[] StepEpochs { get; set; } = { 8, 11 };

        /// <summary>Factor applied at each step epoch. Default 0.1.</summary>
        public double StepGamma { get; set; } = 0.1;

        /// <summary>Clip the gradient norm to this value; 0 disables. Default 10.</summary>
        public double GradientClipNorm { get; set; } = 10;

        /// <summary>Backbone stages that train, 0–5 (5 = all, 3 = torchvision's default with pretrained weights). Default 5 without
        /// pretrained weights, 3 with.</summary>
        public int? TrainableBackboneStages { get; set; }

        /// <summary>Probability of a horizontal flip of each training image (boxes follow). Default 0.5.</summary>
        public double HorizontalFlipProbability { get; set; } = 0.5;

        /// <summary>Smallest random rescale of each training image (boxes follow); 1 with <see cref="ScaleJitterMax"/> 1 disables. Default
        /// 0.8.</summary>
        public double ScaleJitterMin { get; set; } = 0.8;

        /// <summary>Largest random rescale of each training image (content beyond the canvas is cropped). Default 1.2.</summary>
        public double ScaleJitterMax { get; set; } = 1.2;

        /// <summary>Focal loss α. Default 0.25.</summary>
        public double FocalAlpha { get; set; } = 0.25;

        /// <summary>Focal loss γ. Default 2.</summary>
        public double FocalGamma { get; set; } = 2;

        /// <summary>Box loss. Default L1 for V1 and GIoU for V2 (null picks by version).</summary>
        public BoxLossKind? BoxLoss { get; set; }

        /// <summary>IoU at or above which an anchor is foreground. Default 0.5.</summary>
        public double ForegroundIouThreshold { get; set; } = 0.5;

        /// <summary>IoU below which an anchor is background (between the two: ignored). Default 0.4.</summary>
        public double BackgroundIouThreshold { get; set; } = 0.4;

        /// <summary>Minimum score of a detection. Default 0.05.</summary>
        public double ScoreThreshold { get; set; } = 0.05;

        /// <summary>Candidates kept per pyramid level before NMS. Default 1000.</summary>
        public int TopKCandidates { get; set; } = 1000;

        /// <summary>Class-wise NMS IoU threshold. Default 0.5.</summary>
        public double NmsThreshold { get; set; } = 0.5;

        /// <summary>Most detections per image. Default 300.</summary>
        public int MaxDetectionsPerImage { get; set; } = 300;

        /// <summary>Anchor sizes, strides, scales and ratios. Default torchvision's.</summary>
        public AnchorOptions Anchors { get; set; } = new();

        /// <summary>
        /// Tune the anchor scales and ratios on the training boxes before the first step (<see cref="AnchorTuning.AnchorTuner"/>,
        /// starting from <see cref="Anchors"/> and keeping its sizes, strides and anchors per location); the report goes to the
        /// log and the tuned anchors into the fitted model. Default false.
        /// </summary>
        public bool TuneAnchors { get; set; }

        /// <summary>Optional validation data with the same columns: COCO mAP after each epoch, and the best epoch's weights are kept.
        /// Default none.</summary>
        public IDataView? ValidationSet { get; set; }

        /// <summary>Stop when validation mAP has not improved for this many epochs; 0 disables. Default 0.</summary>
        public int EarlyStoppingPatience { get; set; }

        /// <summary>Seed for initialisation, shuffling and augmentation. Default 1.</summary>
        public int Seed { get; set; } = 1;

        /// <summary>
        /// Folder for a checkpoint after each epoch (weights, optimiser state, <c>checkpoint.json</c>; each file written to a
        /// temporary name and renamed); none by default.
        /// </summary>
        public string? CheckpointDirectory { get; set; }

        /// <summary>
        /// Continue from the last checkpoint in <see cref="CheckpointDirectory"/> (weights, optimiser, epoch, step, best
        /// epoch); shuffling and augmentation are seeded per epoch, so the result equals an unbroken run. Default false.
        /// </summary>
        public bool ResumeFromCheckpoint { get; set; }

        /// <summary>
        /// With <see cref="CheckpointDirectory"/> set, also write a checkpoint every this many steps inside an epoch, so that a
        /// killed run loses at most that many steps; 0 writes one only after each epoch. Default 0.
        /// </summary>
        public int CheckpointEveryNSteps { get; set; }

        /// <summary>
        /// Skip rows whose image cannot be read or whose annotations fail validation (a label/box mismatch, x1 ≤ x0, NaN, a box
        /// outside the image, a missing key) instead of stopping before the first step; the skipped rows are counted and the
        /// first few named in the log, before the first step and again at the end. Default false: such a row stops training.
        /// </summary>
        public bool SkipInvalidRows { get; set; }

        /// <summary>
        /// On Linux, keep the memory libtorch frees after each step for the next one (glibc's mallopt while <c>Fit</c> runs:
        /// no mmapped blocks, trim threshold 1 GiB; restored and trimmed afterwards) instead of unmapping and page-faulting
        /// it in again every step. Training steps are ≈ 1.9× faster on the benchmark machine (BENCHMARKS.md); the
        /// process's resident memory stays near its peak until training ends. mallopt is process-wide, so turn it off
        /// if other native code in the process tunes malloc itself. Default true.
        /// </summary>
        public bool ReuseNativeMemory { get; set; } = true;

        /// <summary>
        /// Arithmetic of the training step's convolutions: <see cref="TrainingPrecision.Float32"/> (default) or
        /// <see cref="TrainingPrecision.BFloat16"/> — the convolutions (all but the subnets' last two) and their gradients
        /// in bfloat16 with float32 master weights, normalisation, losses and optimiser state. On CPUs with AVX512_BF16
        /// the main job's steps take about half the time (3.70 against 1.96 images/s) and its test AP50 was 0.635
        /// against 0.636 in float32. Validation, scoring and the exported model are float32 either way.
        /// </summary>
        public TrainingPrecision Precision { get; set; } = TrainingPrecision.Float32;

        /// <summary>
        /// Score with an int8 graph: after training, the ONNX graph is quantised (per-channel int8 convolution weights,
        /// uint8 activations) with ranges calibrated on the first <see cref="Int8CalibrationImages"/> training images, and
        /// the fitted transformer, the saved model and <c>ExportToOnnx</c> use it. With a <see cref="ValidationSet"/>, the
        /// float32 and int8 models are both evaluated on it and the difference is logged. Default false.
        /// </summary>
        public bool Int8Scoring { get; set; }

        /// <summary>Training images the int8 ranges are calibrated on (<see cref="Int8Scoring"/>). Default 64.</summary>
        public int Int8CalibrationImages { get; set; } = 64;

        /// <summary>Log the loss every this many steps. Default 10.</summary>
        public int LogEveryNSteps { get; set; } = 10;

        /// <summary>
        /// Called on the training thread after every step with the position, the step's loss and the images/s so far (for a
        /// progress bar); ML.NET's log and progress channel get the same figures. Null: not called.
        /// </summary>
        public Action<TrainingProgress>? Progress { get; set; }

        /// <summary>A copy, so that validation and defaults can be applied without touching the caller's object.</summary>
        internal Options Clone()
        {
            var copy = (Options)MemberwiseClone();
            copy.Anchors = Anchors.Clone();
            copy.StepEpochs = (int[])StepEpochs.Clone();
            return copy;
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.RetinaNet.Data;
using Microsoft.ML.RetinaNet.Detection;
using Microsoft.ML.RetinaNet.Evaluation;
using Microsoft.ML.RetinaNet.Runtime;
using Microsoft.ML.RetinaNet.Scoring;
using Microsoft.ML.Runtime;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Training;

/// <summary>What training did, for the log and the caller.</summary>
internal sealed record TrainingSummary(int Epochs, int Steps, int Images, double Seconds, double StepSeconds, IReadOnlyList<EpochRecord> History,
    int BestEpoch);

/// <summary>
/// Epochs of shuffled batches with augmentation, the learning-rate plan, validation mAP after each epoch with the
/// best weights kept, early stopping, checkpoints, progress on ML.NET's channels and prompt cancellation.
/// </summary>
internal sealed class TrainingLoop
{
    private readonly RetinaNetTrainer.Options _options;
    private readonly DetectorModel _model;
    private readonly IChannel _channel;
    private readonly IProgressChannel? _progress;
    private readonly Func<bool> _isCanceled;
    private readonly CancellationToken _cancellation;

    public TrainingLoop(RetinaNetTrainer.Options options, DetectorModel model, IChannel channel, IProgressChannel? progress,
        Func<bool> isCanceled, CancellationToken cancellation)
    {
        _options = options;
        _model = model;
        _channel = channel;
        _progress = progress;
        _isCanceled = isCanceled;
        _cancellation = cancellation;
    }

    public TrainingSummary Run(DetectionDataset train, DetectionDataset? validation)
    {
        var o = _options;
        var network = _model.Network;
        var trainable = network.parameters().Where(p => p.requires_grad).ToList();
        optim.Optimizer optimizer = o.Optimizer == RetinaNetOptimizer.AdamW
            ? optim.AdamW(trainable, o.LearningRate, weight_decay: o.WeightDecay)
            : optim.SGD(trainable, o.LearningRate, momentum: o.Momentum, weight_decay: o.WeightDecay);
        var loss = new DetectionLoss(new LossSettings(o.FocalAlpha, o.FocalGamma, o.BoxLoss!.Value, 1.0, o.ForegroundIouThreshold,
            o.BackgroundIouThreshold));
        var step = new TrainingStep(network, _model.Anchors, loss, optimizer, o.GradientClipNorm, o.Precision);
        int stepsPerEpoch = (train.Examples.Count + o.BatchSize - 1) / o.BatchSize;
        var plan = new LearningRatePlan(o.LearningRate, o.WarmupSteps, o.WarmupFactor, o.Schedule, o.StepEpochs, o.StepGamma, stepsPerEpoch,
            o.Epochs);

        int globalStep = 0, imagesSeen = 0, totalSteps = stepsPerEpoch * o.Epochs;
        float lastLoss = float.NaN;
        _progress?.SetHeader(new ProgressHeader(new[] { "loss" }, new[] { "steps", "images" }), entry =>
        {
            entry.SetProgress(0, globalStep, totalSteps);
            entry.SetProgress(1, imagesSeen, (double)totalSteps * o.BatchSize);
            entry.SetMetric(0, lastLoss);
        });

        var epochLosses = new List<float>();
        var validationMap = new List<double>();
        var history = new List<EpochRecord>();
        Dictionary<string, Tensor>? bestWeights = null;
        int bestEpoch = 0, epochsWithoutImprovement = 0;
        var clock = Stopwatch.StartNew();
        var stepClock = new Stopwatch(); // training steps only, for images/s
        int startEpoch = 1, startStep = 0, startImages = 0;
        double resumedLoss = 0;
        var settings = new CheckpointSettings(o.Depth, o.PretrainedBackbone.ToString(), o.Version.ToString(), o.ImageSize, o.BatchSize, o.Seed,
            train.ClassNames.Length,
            o.Anchors.HeadAnchorsPerLocation, train.Examples.Count, o.Optimizer.ToString(), string.Join(" ", o.Anchors.Strides));
        FileDigest? bestFile = null;
        try
        {
            if (o.ResumeFromCheckpoint && o.CheckpointDirectory != null
                && Checkpoints.Resume(o.CheckpointDirectory, settings, network, optimizer, m => _channel.Warning(MessageSensitivity.None,
                    m)) is { } state)
            {
                (startEpoch, startStep, resumedLoss) = (state.CompletedEpochs + 1, state.StepsIntoEpoch, state.EpochLossSum);
                (globalStep, imagesSeen, bestEpoch, epochsWithoutImprovement, bestFile) = (state.GlobalStep, state.ImagesSeen, state.BestEpoch,
                    state.EpochsWithoutImprovement, state.BestWeights);
                history.AddRange(state.History);
                epochLosses.AddRange(state.History.Select(h => (float)h.MeanLoss));
                validationMap.AddRange(state.History.Where(h => h.ValidationMap.HasValue).Select(h => h.ValidationMap!.Value));
                if (validation != null && state.BestWeights != null)
                    bestWeights = Checkpoints.LoadBest(o.CheckpointDirectory, state, network.Config);
                _channel.Info(MessageSensitivity.None, startStep == 0
                    ? $"resuming after epoch {state.CompletedEpochs} (step {state.GlobalStep}) from {o.CheckpointDirectory}"
                    : $"resuming in epoch {startEpoch} after its step {startStep} (step {state.GlobalStep}) from {o.CheckpointDirectory}");
            }
            startImages = imagesSeen;
            void Checkpoint(int completedEpochs, int stepsIntoEpoch, double lossSum, bool newBest)
            {
                var draft = new CheckpointStateDraft(completedEpochs, stepsIntoEpoch, lossSum, globalStep, imagesSeen, bestEpoch,
                    epochsWithoutImprovement,
                    history.ToList(), bestFile, settings);
                bestFile = Checkpoints.Save(o.CheckpointDirectory!, network, optimizer, draft, newBest);
            }
            for (int epoch = startEpoch; epoch <= o.Epochs; epoch++)
            {
                // shuffling and augmentation are seeded per epoch and step, so a resumed run sees what an unbroken run sees
                var order = new Random(EpochSeed(o.Seed, epoch));
                var indices = Enumerable.Range(0, train.Examples.Count).OrderBy(_ => order.Next()).ToArray();
                int firstStep = epoch == startEpoch ? startStep : 0;
                double epochLoss = epoch == startEpoch ? resumedLoss : 0;
                var epochClock = Stopwatch.StartNew();
                for (int b = firstStep; b < stepsPerEpoch; b++)
                {
                    ThrowIfCanceled(epoch, b + 1);
                    var examples = indices.Skip(b * o.BatchSize).Take(o.BatchSize).Select(i => train.Examples[i]).ToList();
                    double rate = plan.At(globalStep);
                    foreach (var group in optimizer.ParamGroups)
                        group.LearningRate = rate;
                    StepLosses losses;
                    var augmentation = new Augmentation(o.HorizontalFlipProbability, o.ScaleJitterMin, o.ScaleJitterMax, StepSeed(o.Seed, epoch, b));
                    stepClock.Start();
                    using (var batch = new BatchBuilder(o.ImageSize, augmentation, _model.Device).Build(examples))
                        losses = step.Run(batch);
                    stepClock.Stop();
                    if (!float.IsFinite(losses.Total))
                        throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                            $"The loss became {losses.Total} at epoch {epoch}, step {b + 1} (learning rate {rate:G3}) "
                                + $"on {string.Join(", ", examples.Select(e => e.Name))}. ")
                            + "Lower LearningRate, raise WarmupSteps, or check those rows' boxes."
                            + (o.CheckpointDirectory != null ? $" The checkpoints in {o.CheckpointDirectory} are from before this step (the newest "
                                + $"two are kept)." : ""));
                    globalStep++;
                    imagesSeen += examples.Count;
                    lastLoss = losses.Total;
                    epochLoss += losses.Total;
                    double imagesPerSecond = (imagesSeen - startImages) / stepClock.Elapsed.TotalSeconds;
                    if (globalStep % Math.Max(1, o.LogEveryNSteps) == 0 || b == stepsPerEpoch - 1)
                        _channel.Info(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture,
                            $"epoch {epoch}/{o.Epochs} step {b + 1}/{stepsPerEpoch}: loss {losses.Total:F4} "
                                + $"(classification {losses.Classification:F4}, box {losses.Box:F4}), lr {rate:0.00e+00}, {imagesPerSecond:F2} "
                                    + $"images/s"));
                    o.Progress?.Invoke(new TrainingProgress(epoch, o.Epochs, b + 1, stepsPerEpoch, globalStep, totalSteps, losses.Total,
                        imagesPerSecond));
                    if (o.CheckpointDirectory != null && o.CheckpointEveryNSteps > 0 && (b + 1) % o.CheckpointEveryNSteps == 0 && b
                        + 1 < stepsPerEpoch)
                        Checkpoint(epoch - 1, b + 1, epochLoss, newBest: false);
                }
                epochLosses.Add((float)(epochLoss / stepsPerEpoch));
                string line = string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch}/{o.Epochs} done in {epochClock.Elapsed.TotalSeconds:F1} s: mean loss {epochLosses[^1]:F4}, working "
                        + $"set {Process.GetCurrentProcess().WorkingSet64 / (1024 * 1024)} MiB");

                if (validation != null)
                {
                    var metrics = DatasetEvaluation.Evaluate(_model, validation, o.BatchSize, _cancellation);
                    validationMap.Add(metrics.MeanAveragePrecision);
                    line += string.Create(CultureInfo.InvariantCulture,
                        $", validation mAP {metrics.MeanAveragePrecision:F4}, AP50 {metrics.AveragePrecision50:F4}");
                    history.Add(new EpochRecord(epoch, epochLosses[^1], metrics.MeanAveragePrecision, metrics.AveragePrecision50,
                        epochClock.Elapsed.TotalSeconds));
                    if (bestWeights == null || metrics.MeanAveragePrecision > validationMap[bestEpoch - 1])
                    {
                        DisposeAll(bestWeights);
                        using (no_grad())
                            bestWeights = network.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
                        bestEpoch = epoch;
                        epochsWithoutImprovement = 0;
                    }
                    else
                    {
                        epochsWithoutImprovement++;
                    }
                }
                if (validation == null)
                    history.Add(new EpochRecord(epoch, epochLosses[^1], null, null, epochClock.Elapsed.TotalSeconds));
                _channel.Info(MessageSensitivity.None, line);
                if (o.CheckpointDirectory != null)
                    Checkpoint(epoch, 0, 0, newBest: bestEpoch == epoch);
                if (o.EarlyStoppingPatience > 0 && epochsWithoutImprovement >= o.EarlyStoppingPatience)
                {
                    _channel.Info(MessageSensitivity.None,
                        $"early stopping after epoch {epoch}: no better validation mAP for {o.EarlyStoppingPatience} epoch(s)");
                    break;
                }
            }
            if (bestWeights != null && bestEpoch != epochLosses.Count)
            {
                using var noGrad = no_grad();
                var current = network.state_dict();
                foreach (var (key, value) in bestWeights)
                    current[key].copy_(value);
                _channel.Info(MessageSensitivity.None,
                    $"kept the weights of epoch {bestEpoch} (best validation mAP {validationMap[bestEpoch - 1]:F4})");
            }
        }
        finally
        {
            DisposeAll(bestWeights);
            optimizer.Dispose();
        }
        return new TrainingSummary(epochLosses.Count, globalStep, imagesSeen - startImages, clock.Elapsed.TotalSeconds,
            stepClock.Elapsed.TotalSeconds, history, bestEpoch);
    }

    private static int EpochSeed(int seed, int epoch) => unchecked(seed * 1_000_003 + epoch);

    private static int StepSeed(int seed, int epoch, int step) => unchecked(EpochSeed(seed, epoch) * 65_599 + step) ^ 0x5BD1E995;

    private void ThrowIfCanceled(int epoch, int step)
    {
        if (_cancellation.IsCancellationRequested || _isCanceled())
            throw new OperationCanceledException($"Training was cancelled before epoch {epoch}, step {step}.", _cancellation);
    }

    private static void DisposeAll(Dictionary<string, Tensor>? weights)
    {
        if (weights == null) return;
        foreach (var t in weights.Values) t.Dispose();
    }
}

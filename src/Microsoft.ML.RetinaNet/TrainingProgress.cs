namespace Microsoft.ML.RetinaNet;

/// <summary>Where training is after a step, as passed to <see cref="RetinaNetTrainer.Options.Progress"/>.</summary>
/// <param name="Epoch">The current epoch, 1-based.</param>
/// <param name="Epochs">Epochs in all.</param>
/// <param name="Step">Steps done in this epoch.</param>
/// <param name="StepsPerEpoch">Steps per epoch.</param>
/// <param name="GlobalStep">Steps done in all (a resumed run counts the steps before it).</param>
/// <param name="TotalSteps">Steps of the whole run.</param>
/// <param name="Loss">This step's loss (classification + box).</param>
/// <param name="ImagesPerSecond">Training images per second of step time in this run.</param>
public sealed record TrainingProgress(int Epoch, int Epochs, int Step, int StepsPerEpoch, int GlobalStep, int TotalSteps, float Loss,
    double ImagesPerSecond);

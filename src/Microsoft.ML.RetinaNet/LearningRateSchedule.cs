namespace Microsoft.ML.RetinaNet;

/// <summary>Learning-rate schedules after warm-up.</summary>
public enum LearningRateSchedule
{
    /// <summary>Constant learning rate.</summary>
    Constant,

    /// <summary>Multiply by <see cref="RetinaNetTrainer.Options.StepGamma"/> at each epoch in <see
    /// cref="RetinaNetTrainer.Options.StepEpochs"/>.</summary>
    Step,

    /// <summary>Cosine decay to zero over all steps.</summary>
    Cosine,
}

namespace Microsoft.ML.RetinaNet;

/// <summary>Arithmetic of the training step's convolutions.</summary>
public enum TrainingPrecision
{
    /// <summary>float32 throughout (the path the torchvision parity tests check).</summary>
    Float32,

    /// <summary>Convolutions and their gradients in bfloat16; float32 master weights, normalisation, losses, optimiser.</summary>
    BFloat16,
}

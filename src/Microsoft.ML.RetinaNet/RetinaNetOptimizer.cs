namespace Microsoft.ML.RetinaNet;

/// <summary>Optimisers for training.</summary>
public enum RetinaNetOptimizer
{
    /// <summary>SGD with momentum (torchvision's detection recipe).</summary>
    Sgd,

    /// <summary>AdamW (decoupled weight decay).</summary>
    AdamW,
}

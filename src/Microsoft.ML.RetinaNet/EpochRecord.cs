namespace Microsoft.ML.RetinaNet;

/// <summary>What one training epoch did: its mean loss, the validation metrics when a validation set was given, its duration.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="MeanLoss">Mean training loss (classification + box) over the epoch's steps.</param>
/// <param name="ValidationMap">COCO mAP@[.50:.95] on the validation set, if any.</param>
/// <param name="ValidationAp50">AP50 on the validation set, if any.</param>
/// <param name="Seconds">Wall time of the epoch, validation included.</param>
public sealed record EpochRecord(int Epoch, double MeanLoss, double? ValidationMap, double? ValidationAp50, double Seconds);

namespace Microsoft.ML.RetinaNet.AnchorTuning;

/// <summary>A box that no anchor overlaps with IoU ≥ the foreground threshold.</summary>
public readonly record struct UncoveredBox(int Index, string ClassName, float Width, float Height, double BestIou);

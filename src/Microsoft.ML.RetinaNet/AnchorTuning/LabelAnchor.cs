namespace Microsoft.ML.RetinaNet.AnchorTuning;

/// <summary>One label's anchor by the closest-base method.</summary>
/// <param name="Label">class name</param>
/// <param name="Count">boxes of the label</param>
/// <param name="Height">representative height</param>
/// <param name="Width">representative width</param>
/// <param name="Ratio">height / width</param>
/// <param name="BaseSize">the base size closest to the width (or the one asked for)</param>
/// <param name="Scale">width / base size</param>
public sealed record LabelAnchor(string Label, int Count, double Height, double Width, double Ratio, float BaseSize, double Scale);

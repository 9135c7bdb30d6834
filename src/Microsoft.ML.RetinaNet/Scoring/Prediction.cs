namespace Microsoft.ML.RetinaNet.Scoring;

/// <summary>Detections of one image in its original pixels: 1-based label keys, scores (descending), x0 y0 x1 y1 boxes.</summary>
internal sealed record Prediction(uint[] Keys, float[] Scores, float[] Boxes)
{
    public static Prediction Empty { get; } = new(Array.Empty<uint>(), Array.Empty<float>(), Array.Empty<float>());
}

namespace Microsoft.ML.RetinaNet;

/// <summary>The column names of the detection contract, the same as ML.NET's ObjectDetection trainer.</summary>
public static class DefaultColumnNames
{
    /// <summary>"Image": <c>MLImage</c>.</summary>
    public const string Image = "Image";

    /// <summary>"Label": variable-length vector of keys.</summary>
    public const string Label = "Label";

    /// <summary>"BoundingBoxes": variable-length vector of Single, x0 y0 x1 y1 per object.</summary>
    public const string BoundingBoxes = "BoundingBoxes";

    /// <summary>"PredictedLabel": variable-length vector of keys.</summary>
    public const string PredictedLabel = "PredictedLabel";

    /// <summary>"Score": variable-length vector of Single.</summary>
    public const string Score = "Score";

    /// <summary>"PredictedBoundingBoxes": variable-length vector of Single.</summary>
    public const string PredictedBoundingBoxes = "PredictedBoundingBoxes";
}

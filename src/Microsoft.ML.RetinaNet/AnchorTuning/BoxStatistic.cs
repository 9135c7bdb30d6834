namespace Microsoft.ML.RetinaNet.AnchorTuning;

/// <summary>Which statistic summarises a label's box heights and widths.</summary>
public enum BoxStatistic
{
    /// <summary>The mean (the method as users know it).</summary>
    Mean,

    /// <summary>The median.</summary>
    Median,

    /// <summary>The percentile given by <see cref="AnchorTuningOptions.Percentile"/> (linear interpolation, as numpy).</summary>
    Percentile,
}

namespace Microsoft.ML.RetinaNet.AnchorTuning;

/// <summary>Settings of <see cref="AnchorTuner"/>. Defaults in brackets.</summary>
public sealed class AnchorTuningOptions
{
    /// <summary>Sizes and strides to keep, and the anchors to compare against [torchvision's defaults].</summary>
    public AnchorOptions BaseAnchors { get; set; } = new();

    /// <summary>The square size training letterboxes images to; coverage is measured there [512].</summary>
    public int ImageSize { get; set; } = 512;

    /// <summary>Statistic of each label's heights and widths for the closest-base method [Mean].</summary>
    public BoxStatistic Statistic { get; set; } = BoxStatistic.Mean;

    /// <summary>Percentile used when <see cref="Statistic"/> is Percentile [50].</summary>
    public double Percentile { get; set; } = 50;

    /// <summary>Snap every label to this base size instead of the nearest one [none].</summary>
    public float? FixedBaseSize { get; set; }

    /// <summary>Scales the optimiser chooses [3].</summary>
    public int ScaleCount { get; set; } = 3;

    /// <summary>Ratios the optimiser chooses; anchors per location = scales × ratios [3].</summary>
    public int RatioCount { get; set; } = 3;

    /// <summary>IoU a box's best anchor must reach to count as covered: the matcher's foreground threshold [0.5].</summary>
    public double IouThreshold { get; set; } = 0.5;

    /// <summary>Generations of the evolutionary search [60].</summary>
    public int Generations { get; set; } = 60;

    /// <summary>Boxes the search evaluates on (an even subsample of larger sets; the report uses all boxes) [4000].</summary>
    public int SampleSize { get; set; } = 4000;

    /// <summary>Seed of the search [1].</summary>
    public int Seed { get; set; } = 1;

    internal void Validate()
    {
        if (BaseAnchors is null) throw new ArgumentException("AnchorTuningOptions.BaseAnchors must not be null.");
        BaseAnchors.Validate();
        if (ImageSize < 32) throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "ImageSize must be at least 32.");
        if (ScaleCount < 1 || RatioCount < 1) throw new ArgumentOutOfRangeException(nameof(ScaleCount), "ScaleCount and RatioCount must be at least 1.");
        if (IouThreshold <= 0 || IouThreshold > 1) throw new ArgumentOutOfRangeException(nameof(IouThreshold), IouThreshold, "IouThreshold must be in (0, 1].");
        if (Generations < 0 || SampleSize < 1) throw new ArgumentOutOfRangeException(nameof(Generations), "Generations must be 0 or more and SampleSize at least 1.");
        if (FixedBaseSize is <= 0) throw new ArgumentOutOfRangeException(nameof(FixedBaseSize), FixedBaseSize, "FixedBaseSize must be positive.");
    }
}

namespace Microsoft.ML.RetinaNet.AnchorTuning;

/// <summary>Settings of <see cref="AnchorTuner"/>. Defaults in brackets.</summary>
public sealed class AnchorTuningOptions
{
    /// <summary>The anchors the search starts from and is compared against; their sizes anchor the size search [torchvision's defaults].</summary>
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

    /// <summary>Choose anchor strides too: halve a level's stride where it pays (see <see cref="MinGainPerDoubling"/>) [true].</summary>
    public bool TuneStrides { get; set; } = true;

    /// <summary>
    /// The fitness (per-class covered fraction plus the positives term, see <see cref="PositivesWeight"/>) a finer stride
    /// must buy per doubling of the anchor count [0.02: two percentage points of coverage in every class].
    /// </summary>
    public double MinGainPerDoubling { get; set; } = 0.02;

    /// <summary>The most anchors tuned strides may give, as a multiple of the count at the feature strides [4].</summary>
    public double MaxAnchorFactor { get; set; } = 4;

    /// <summary>Weight of positives per box in the fitness, against 1 for covered fraction [0.5].</summary>
    public double PositivesWeight { get; set; } = 0.5;

    /// <summary>Positive anchors per box beyond which more count for nothing in the fitness [9, ATSS's k].</summary>
    public int PositivesTarget { get; set; } = 9;

    /// <summary>Seed of the search [1].</summary>
    public int Seed { get; set; } = 1;

    internal void Validate()
    {
        if (BaseAnchors is null) throw new ArgumentException("AnchorTuningOptions.BaseAnchors must not be null.");
        BaseAnchors.Validate();
        if (ImageSize < 32) throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "ImageSize must be at least 32.");
        if (ScaleCount < 1 || RatioCount < 1) throw new ArgumentOutOfRangeException(nameof(ScaleCount),
            "ScaleCount and RatioCount must be at least 1.");
        if (IouThreshold <= 0 || IouThreshold > 1) throw new ArgumentOutOfRangeException(nameof(IouThreshold), IouThreshold,
            "IouThreshold must be in (0, 1].");
        if (Generations < 0 || SampleSize < 1) throw new ArgumentOutOfRangeException(nameof(Generations),
            "Generations must be 0 or more and SampleSize at least 1.");
        if (!(MinGainPerDoubling >= 0) || !(MaxAnchorFactor >= 1) || !(PositivesWeight >= 0) || PositivesTarget < 1)
            throw new ArgumentOutOfRangeException(nameof(MinGainPerDoubling),
                "MinGainPerDoubling and PositivesWeight must be 0 or more, MaxAnchorFactor at least 1 and PositivesTarget at least 1.");
        if (FixedBaseSize is <= 0) throw new ArgumentOutOfRangeException(nameof(FixedBaseSize), FixedBaseSize, "FixedBaseSize must be positive.");
    }
}

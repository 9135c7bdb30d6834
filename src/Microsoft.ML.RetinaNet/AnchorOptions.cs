namespace Microsoft.ML.RetinaNet;

/// <summary>
/// The four anchor hyper-parameters. At pyramid level l (P3–P7) anchors are centred every <see cref="Strides"/>[l]
/// pixels on each axis, with, for each ratio r (height / width) and each scale s, size S = <see cref="Sizes"/>[l] × s
/// (rounded down when <see cref="RoundSizesDown"/>), width S/√r and height S·√r. With the default strides there is one
/// anchor centre per feature-map cell, at (x·spacing_x, y·spacing_y) with torchvision's spacing, input size // feature-map
/// size on each axis (the nominal 8…128 when the input size is a multiple of 128; 60/120 at P6/P7 at 480²). A stride that
/// divides the level's feature stride by m puts m × m anchor centres in every cell, spacing/m apart.
/// Defaults are torchvision's: 9 anchors per location, 49 104 at 512×512.
/// </summary>
public sealed class AnchorOptions
{
    /// <summary>Number of pyramid levels (P3–P7) and so of sizes and strides.</summary>
    public const int LevelCount = 5;

    /// <summary>Base size in pixels for P3–P7. Default 32, 64, 128, 256, 512.</summary>
    public float[] Sizes { get; set; } = { 32, 64, 128, 256, 512 };

    /// <summary>
    /// Distance in pixels between neighbouring anchor centres at P3–P7. Each must divide its level's feature stride (8, 16,
    /// 32, 64, 128): a stride of 4 at P3 puts 2 × 2 anchor centres in every P3 cell, so the subnets predict 4 ×
    /// <see cref="AnchorsPerLocation"/> anchors per feature location (only their last convolutions grow; a level with fewer
    /// centres per cell uses the first of those outputs). Finer strides find thin objects whose width is below the
    /// feature stride, at the cost of more anchors (<see cref="AnchorCount"/>). Default: the feature strides, one centre per
    /// cell, as torchvision (its <c>.pth</c> files load only with these).
    /// </summary>
    public int[] Strides { get; set; } = { 8, 16, 32, 64, 128 };

    /// <summary>The feature strides of P3–P7 in a ResNet-FPN: every anchor stride must divide its level's.</summary>
    public static IReadOnlyList<int> FeatureStrides { get; } = Array.AsReadOnly(new[] { 8, 16, 32, 64, 128 });

    /// <summary>Multipliers of the base size. Default 2^0, 2^(1/3), 2^(2/3).</summary>
    public float[] Scales { get; set; } = { 1f, MathF.Pow(2f, 1f / 3f), MathF.Pow(2f, 2f / 3f) };

    /// <summary>Aspect ratios, height / width. Default 0.5, 1, 2.</summary>
    public float[] Ratios { get; set; } = { 0.5f, 1f, 2f };

    /// <summary>
    /// Round size × scale down to a whole number of pixels, as torchvision's default anchor generator does
    /// (<c>int(x * 2 ** (1/3))</c>). Default true.
    /// </summary>
    public bool RoundSizesDown { get; set; } = true;

    /// <summary>Anchor shapes at every anchor centre: scales × ratios.</summary>
    public int AnchorsPerLocation => Scales.Length * Ratios.Length;

    /// <summary>Anchor centres per feature-map cell and axis at <paramref name="level"/> (0 = P3): feature stride / stride.</summary>
    public int CentresPerCellAxis(int level) => FeatureStrides[level] / Strides[level];

    /// <summary>
    /// All anchors on a <paramref name="canvasSize"/>² input (centres × shapes over the five levels): 49 104 at 512² with the
    /// defaults; the cost a finer stride adds to every step's matching, loss and post-processing.
    /// </summary>
    public long AnchorCount(int canvasSize) =>
        Modeling.NetworkConfig.LevelSizes(canvasSize, canvasSize).Select((s, level) => s.Height * s.Width * LevelAnchorsPerLocation(level)).Sum();

    /// <summary>Anchors per feature location at <paramref name="level"/>: centres per cell × shapes.</summary>
    internal int LevelAnchorsPerLocation(int level) => CentresPerCellAxis(level) * CentresPerCellAxis(level) * AnchorsPerLocation;

    /// <summary>Anchors per feature location the subnets predict: the most of any level.</summary>
    internal int HeadAnchorsPerLocation => Enumerable.Range(0, LevelCount).Max(LevelAnchorsPerLocation);

    /// <summary>True for torchvision's strides (one anchor centre per feature cell at every level).</summary>
    public bool HasDefaultStrides => Strides.SequenceEqual(FeatureStrides);

    /// <summary>A deep copy.</summary>
    public AnchorOptions Clone() => new()
    {
        Sizes = (float[])Sizes.Clone(),
        Strides = (int[])Strides.Clone(),
        Scales = (float[])Scales.Clone(),
        Ratios = (float[])Ratios.Clone(),
        RoundSizesDown = RoundSizesDown,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending setting when the options cannot make anchors.</summary>
    public void Validate()
    {
        RequireCount(nameof(Sizes), Sizes?.Length, LevelCount);
        RequireCount(nameof(Strides), Strides?.Length, LevelCount);
        if (Scales is null || Scales.Length == 0)
            throw new ArgumentException("AnchorOptions.Scales needs at least one scale, e.g. { 1 }.", nameof(Scales));
        if (Ratios is null || Ratios.Length == 0)
            throw new ArgumentException("AnchorOptions.Ratios needs at least one ratio (height / width), e.g. { 1 }.", nameof(Ratios));
        RequirePositive(nameof(Sizes), Sizes!);
        RequirePositive(nameof(Scales), Scales);
        RequirePositive(nameof(Ratios), Ratios);
        for (int i = 0; i < LevelCount; i++)
        {
            if (Strides![i] <= 0 || FeatureStrides[i] % Strides[i] != 0)
                throw new ArgumentException($"AnchorOptions.Strides[{i}] (P{i + 3}) is {Strides[i]}; it must divide the level's feature stride " +
                    $"{FeatureStrides[i]} ({string.Join(", ", Divisors(FeatureStrides[i]))}), e.g. the default {FeatureStrides[i]}.",
                    nameof(Strides));
            if (RoundSizesDown && Math.Floor(Sizes![i] * Scales.Min()) < 1)
                throw new ArgumentException($"AnchorOptions.Sizes[{i}] × smallest scale = {Sizes[i] * Scales.Min()} rounds down to 0 pixels; use "
                    + $"larger sizes or scales, or RoundSizesDown = false.", nameof(Sizes));
        }
    }

    private static IEnumerable<int> Divisors(int n) => Enumerable.Range(1, n).Where(d => n % d == 0).Reverse();

    private static void RequireCount(string name, int? actual, int expected)
    {
        if (actual != expected)
            throw new ArgumentException($"AnchorOptions.{name} needs {expected} values, one per pyramid level P3–P7; "
                + $"got {actual?.ToString() ?? "null"}.", name);
    }

    private static void RequirePositive(string name, float[] values)
    {
        for (int i = 0; i < values.Length; i++)
            if (!(values[i] > 0) || float.IsInfinity(values[i]))
                throw new ArgumentException($"AnchorOptions.{name}[{i}] is {values[i]}; it must be a positive finite number.", name);
    }

    /// <inheritdoc />
    public override string ToString()
    {
        static string Join(IEnumerable<float> values, string format) =>
            string.Join(", ", values.Select(v => v.ToString(format, System.Globalization.CultureInfo.InvariantCulture)));
        return $"sizes [{Join(Sizes, "0.##")}], strides [{string.Join(", ", Strides)}], scales [{Join(Scales, "0.####")}], " +
            $"ratios [{Join(Ratios, "0.####")}]";
    }
}

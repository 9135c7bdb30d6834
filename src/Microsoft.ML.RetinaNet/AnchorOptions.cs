namespace Microsoft.ML.RetinaNet;

/// <summary>
/// The four anchor hyper-parameters. At pyramid level l (P3–P7) the anchors are centred on
/// (x·stride_x, y·stride_y) for every feature-map cell, with, for each ratio r (height / width) and each
/// scale s, size S = <see cref="Sizes"/>[l] × s (rounded down when <see cref="RoundSizesDown"/>),
/// width S/√r and height S·√r. The spacing is torchvision's: input size // feature-map size on each axis, which is
/// <see cref="Strides"/> when the input size is a multiple of 128 and differs at P6/P7 otherwise (60/120 at 480²).
/// Defaults are torchvision's: 9 anchors per location, 49 104 at 512×512.
/// </summary>
public sealed class AnchorOptions
{
    /// <summary>Number of pyramid levels (P3–P7) and so of sizes and strides.</summary>
    public const int LevelCount = 5;

    /// <summary>Base size in pixels for P3–P7. Default 32, 64, 128, 256, 512.</summary>
    public float[] Sizes { get; set; } = { 32, 64, 128, 256, 512 };

    /// <summary>
    /// The network's nominal strides of P3–P7, which must be 8, 16, 32, 64, 128. Anchor centres are spaced as torchvision
    /// spaces them, input size // feature-map size per axis: these values at sizes that are multiples of 128.
    /// </summary>
    public int[] Strides { get; set; } = { 8, 16, 32, 64, 128 };

    /// <summary>Multipliers of the base size. Default 2^0, 2^(1/3), 2^(2/3).</summary>
    public float[] Scales { get; set; } = { 1f, MathF.Pow(2f, 1f / 3f), MathF.Pow(2f, 2f / 3f) };

    /// <summary>Aspect ratios, height / width. Default 0.5, 1, 2.</summary>
    public float[] Ratios { get; set; } = { 0.5f, 1f, 2f };

    /// <summary>
    /// Round size × scale down to a whole number of pixels, as torchvision's default anchor generator does
    /// (<c>int(x * 2 ** (1/3))</c>). Default true.
    /// </summary>
    public bool RoundSizesDown { get; set; } = true;

    /// <summary>Anchors at every location: scales × ratios.</summary>
    public int AnchorsPerLocation => Scales.Length * Ratios.Length;

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
            if (Strides![i] <= 0)
                throw new ArgumentException($"AnchorOptions.Strides[{i}] is {Strides[i]}; strides must be positive.", nameof(Strides));
            if (RoundSizesDown && Math.Floor(Sizes![i] * Scales.Min()) < 1)
                throw new ArgumentException($"AnchorOptions.Sizes[{i}] × smallest scale = {Sizes[i] * Scales.Min()} rounds down to 0 pixels; use larger sizes or scales, or RoundSizesDown = false.", nameof(Sizes));
        }
    }

    private static void RequireCount(string name, int? actual, int expected)
    {
        if (actual != expected)
            throw new ArgumentException($"AnchorOptions.{name} needs {expected} values, one per pyramid level P3–P7; got {actual?.ToString() ?? "null"}.", name);
    }

    private static void RequirePositive(string name, float[] values)
    {
        for (int i = 0; i < values.Length; i++)
            if (!(values[i] > 0) || float.IsInfinity(values[i]))
                throw new ArgumentException($"AnchorOptions.{name}[{i}] is {values[i]}; it must be a positive finite number.", name);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"sizes [{string.Join(", ", Sizes)}], strides [{string.Join(", ", Strides)}], scales [{string.Join(", ", Scales.Select(s => s.ToString("0.####")))}], ratios [{string.Join(", ", Ratios.Select(r => r.ToString("0.####")))}]";
}

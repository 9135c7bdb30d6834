namespace Microsoft.ML.RetinaNet.Benchmarks.Runner;

/// <summary>How a figure is judged: the ratio ours/theirs at most a value, an absolute bound, or a floor on a ratio.</summary>
internal sealed record Target(string Text, Func<FigureResult, bool?> IsMet)
{
    public static Target RatioAtMost(double limit) => new($"ratio ≤ {limit:0.00}", f => f.Ratio is { } r ? r <= limit : null);

    public static Target OursAtMost(double limit, string unit) => new($"< {limit} {unit}", f => f.OursMedian < limit);

    public static Target None { get; } = new("—", _ => null);
}

/// <summary>One figure: every measurement of each side (seconds, MiB, …) and what they give.</summary>
internal sealed class FigureResult
{
    public FigureResult(string key, string title, string unit, Target target)
    {
        Key = key;
        Title = title;
        Unit = unit;
        Target = target;
    }

    public string Key { get; }
    public string Title { get; }
    public string Unit { get; }
    public Target Target { get; }
    public List<double> Ours { get; } = new();

    /// <summary>torchvision's runs under each allocator setting (<see cref="ReferenceSetting.Name"/>), when measured.</summary>
    public Dictionary<string, List<double>> TheirsBySetting { get; } = new();

    /// <summary>torchvision at its best: the runs of the setting with the lowest median.</summary>
    public List<double>? Theirs => BestSetting is { } best ? TheirsBySetting[best] : null;

    /// <summary>The setting with the lowest median, the baseline every ratio and target is against.</summary>
    public string? BestSetting => TheirsBySetting.Where(p => p.Value.Count > 0).OrderBy(p => Median(p.Value)).Select(p => p.Key).FirstOrDefault();

    /// <summary>torchvision as it ships (glibc's malloc defaults).</summary>
    public double? AsShippedMedian => TheirsBySetting.TryGetValue(ReferenceSetting.AsShippedName, out var runs) && runs.Count > 0 ? Median(runs) : null;

    /// <summary>Floating-point operations of one run (or one image, for per-image figures), when counted.</summary>
    public double? Flops { get; set; }

    public double? OursGflops => Flops is { } f ? f / OursMedian / 1e9 : null;
    public double? TheirsGflops => Flops is { } f && TheirsMedian is { } t ? f / t / 1e9 : null;

    /// <summary>Free text shown with the figure (what was measured, a derived figure).</summary>
    public string? Note { get; set; }

    public double OursMedian => Median(Ours);
    public double? TheirsMedian => Theirs is { Count: > 0 } t ? Median(t) : null;
    public double? Ratio => TheirsMedian is { } t && t > 0 ? OursMedian / t : null;
    public double? RatioAsShipped => AsShippedMedian is { } t && t > 0 ? OursMedian / t : null;
    public bool? Met => Target.IsMet(this);

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}

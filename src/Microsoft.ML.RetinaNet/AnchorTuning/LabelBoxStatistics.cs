using System.Globalization;

namespace Microsoft.ML.RetinaNet.AnchorTuning;

/// <summary>Box count and representative height and width of one label.</summary>
public sealed record LabelBoxStatistics(string Label, int Count, double Height, double Width)
{
    /// <summary>Per label (labels without boxes are left out), with the chosen statistic.</summary>
    public static IReadOnlyList<LabelBoxStatistics> Compute(BoxSet boxes, BoxStatistic statistic, double percentile = 50)
    {
        if (percentile < 0 || percentile > 100)
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "Percentile must be between 0 and 100.");
        var result = new List<LabelBoxStatistics>();
        for (int k = 0; k < boxes.ClassNames.Count; k++)
        {
            var members = Enumerable.Range(0, boxes.Count).Where(i => boxes.Labels[i] == k).ToList();
            if (members.Count == 0) continue;
            var heights = members.Select(boxes.Height).ToArray();
            var widths = members.Select(boxes.Width).ToArray();
            result.Add(new LabelBoxStatistics(boxes.ClassNames[k], members.Count, Summarise(heights, statistic, percentile), Summarise(widths,
                statistic, percentile)));
        }
        return result;
    }

    private static double Summarise(double[] values, BoxStatistic statistic, double percentile) => statistic switch
    {
        BoxStatistic.Mean => values.Average(),
        BoxStatistic.Median => Quantile(values, 50),
        _ => Quantile(values, percentile),
    };

    /// <summary>numpy.percentile with linear interpolation.</summary>
    internal static double Quantile(double[] values, double percentile)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        double position = percentile / 100 * (sorted.Length - 1);
        int lower = (int)Math.Floor(position);
        int upper = Math.Min(lower + 1, sorted.Length - 1);
        return sorted[lower] + (position - lower) * (sorted[upper] - sorted[lower]);
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Label}: {Count} boxes, h {Height:0.##}, w {Width:0.##}");
}

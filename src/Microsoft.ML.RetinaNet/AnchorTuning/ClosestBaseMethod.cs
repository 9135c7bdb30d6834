using System.Globalization;
using System.Text;

namespace Microsoft.ML.RetinaNet.AnchorTuning;

/// <summary>
/// The method users know: for each label, ratio = height / width and, for the scale, the base size closest to the width,
/// scale = width / that base size, so that one pyramid level becomes responsible for the label. The anchors take every
/// label's scale and every label's ratio.
/// </summary>
public static class ClosestBaseMethod
{
    /// <summary>One row per label; <paramref name="fixedBaseSize"/> snaps every label to that base size instead of the nearest.</summary>
    public static IReadOnlyList<LabelAnchor> Rows(IReadOnlyList<LabelBoxStatistics> statistics, float[] baseSizes, float? fixedBaseSize = null)
    {
        if (baseSizes.Length == 0)
            throw new ArgumentException("At least one base size is needed.", nameof(baseSizes));
        return statistics.Select(s =>
        {
            // ties go to the smaller base size
            float baseSize = fixedBaseSize ?? baseSizes.OrderBy(b => Math.Abs(s.Width - b)).ThenBy(b => b).First();
            return new LabelAnchor(s.Label, s.Count, s.Height, s.Width, s.Height / s.Width, baseSize, s.Width / baseSize);
        }).ToList();
    }

    /// <summary>Anchors with the given sizes and strides, every label's scale and every label's ratio (duplicates merged).</summary>
    public static AnchorOptions Anchors(IReadOnlyList<LabelAnchor> rows, AnchorOptions baseAnchors) => new()
    {
        Sizes = (float[])baseAnchors.Sizes.Clone(),
        Strides = (int[])baseAnchors.Strides.Clone(),
        Scales = rows.Select(r => (float)r.Scale).Distinct().OrderBy(v => v).ToArray(),
        Ratios = rows.Select(r => (float)r.Ratio).Distinct().OrderBy(v => v).ToArray(),
        RoundSizesDown = false,
    };

    /// <summary>The label table: mean h, mean w, ratio (2 decimals, truncated, as the method is usually shown), closest base, scale.</summary>
    public static string LabelTable(IReadOnlyList<LabelAnchor> rows, string statisticName = "mean")
    {
        var s = new StringBuilder();
        s.AppendLine(CultureInfo.InvariantCulture, $"| label | boxes | {statisticName} h | {statisticName} w | ratio | closest base | scale |");
        s.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in rows)
            s.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Label} | {r.Count} | {r.Height:0.##} | {r.Width:0.##} | {Math.Floor(r.Ratio * 100) / 100:0.00} | {r.BaseSize:0.##} "
                    + $"| {r.Scale:0.########} |");
        return s.ToString();
    }

    /// <summary>The anchor sizes that result: scale × base size at each pyramid level (levels 1–5 = P3–P7).</summary>
    public static string WidthTable(IReadOnlyList<LabelAnchor> rows, float[] baseSizes)
    {
        var s = new StringBuilder();
        s.Append("| label |");
        for (int l = 0; l < baseSizes.Length; l++) s.Append(CultureInfo.InvariantCulture, $" level {l + 1} (base {baseSizes[l]:0.##}) |");
        s.AppendLine().Append("|---|").AppendLine(string.Concat(Enumerable.Repeat("---|", baseSizes.Length)));
        foreach (var r in rows)
        {
            s.Append(CultureInfo.InvariantCulture, $"| {r.Label} |");
            foreach (float b in baseSizes) s.Append(CultureInfo.InvariantCulture, $" {r.Scale * b:0.##} |");
            s.AppendLine();
        }
        return s.ToString();
    }
}

using System.Globalization;
using System.Text;

namespace Microsoft.ML.RetinaNet.AnchorTuning;

/// <summary>What <see cref="AnchorTuner"/> found: the closest-base method's anchors, the optimised anchors, and their coverage against the
/// defaults.</summary>
public sealed class AnchorTuningResult
{
    internal AnchorTuningResult(BoxSet boxes, AnchorTuningOptions options, IReadOnlyList<LabelAnchor> labels, AnchorOptions methodAnchors,
        AnchorCoverage baseCoverage, AnchorCoverage methodCoverage, AnchorOptions anchors, AnchorCoverage coverage)
    {
        Boxes = boxes;
        Options = options;
        Labels = labels;
        MethodAnchors = methodAnchors;
        BaseCoverage = baseCoverage;
        MethodCoverage = methodCoverage;
        Anchors = anchors;
        Coverage = coverage;
    }

    /// <summary>The boxes tuned on, in canvas pixels.</summary>
    public BoxSet Boxes { get; }

    internal AnchorTuningOptions Options { get; }

    /// <summary>Per label: statistic height and width, ratio, closest base size, scale.</summary>
    public IReadOnlyList<LabelAnchor> Labels { get; }

    /// <summary>The closest-base method's anchors (every label's scale and ratio).</summary>
    public AnchorOptions MethodAnchors { get; }

    /// <summary>Coverage of the anchors tuning started from (<see cref="AnchorTuningOptions.BaseAnchors"/>, torchvision's by default).</summary>
    public AnchorCoverage BaseCoverage { get; }

    /// <summary>Coverage of <see cref="MethodAnchors"/>.</summary>
    public AnchorCoverage MethodCoverage { get; }

    /// <summary>The optimised anchors: never covering less than the base anchors. Give these to the trainer.</summary>
    public AnchorOptions Anchors { get; }

    /// <summary>Coverage of <see cref="Anchors"/>.</summary>
    public AnchorCoverage Coverage { get; }

    /// <summary>The report: both method tables, the anchors and their coverage, and what stays uncovered.</summary>
    public string ToMarkdown()
    {
        var s = new StringBuilder();
        string stat = Options.Statistic switch { BoxStatistic.Mean => "mean", BoxStatistic.Median => "median", _ => $"p{Options.Percentile:0.#}" };
        s.AppendLine(CultureInfo.InvariantCulture, $"## Anchors for {Boxes.Count} boxes at {Options.ImageSize}×{Options.ImageSize}").AppendLine();
        s.AppendLine("### Closest base size per label").AppendLine();
        s.AppendLine(ClosestBaseMethod.LabelTable(Labels, stat));
        s.AppendLine("### Anchor sizes per level (scale × base size)").AppendLine();
        s.AppendLine(ClosestBaseMethod.WidthTable(Labels, Options.BaseAnchors.Sizes));
        s.AppendLine(CultureInfo.InvariantCulture, $"### Coverage (best anchor IoU ≥ {Options.IouThreshold:0.##})").AppendLine();
        s.AppendLine(CultureInfo.InvariantCulture,
            $"| anchors | shapes per centre | anchors at {Options.ImageSize}² | covered | covered at 0.4 | " +
            $"positives per box | mean best IoU | fitness |");
        s.AppendLine("|---|---|---|---|---|---|---|---|");
        void Row(string name, AnchorOptions a, AnchorCoverage c) => s.AppendLine(CultureInfo.InvariantCulture,
            $"| {name}: {a} | {a.AnchorsPerLocation} | {a.AnchorCount(Options.ImageSize):N0} | " +
            $"{c.CoveredFraction:P1} | {c.CoveredFractionAt40:P1} | " +
            $"{c.MeanPositives:F2} | {c.MeanBestIou:F3} | {AnchorFitness.Of(c, Boxes, Options):F3} |");
        Row("start", Options.BaseAnchors, BaseCoverage);
        Row("closest base", MethodAnchors, MethodCoverage);
        Row("optimised", Anchors, Coverage);
        s.AppendLine().AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Fitness: mean over classes of covered + {Options.PositivesWeight:0.##} × " +
            $"min(positives, {Options.PositivesTarget}) / {Options.PositivesTarget}, " +
            $"+ 0.01 × mean best IoU. Per class, covered / positives per box:"));
        s.AppendLine().AppendLine("| class | start | closest base | optimised |").AppendLine("|---|---|---|---|");
        string Cell(AnchorCoverage c, string name)
            => $"{Pct(c.PerClass[name])} / {c.PerClassPositives[name].ToString("F1", CultureInfo.InvariantCulture)}";
        foreach (var name in Boxes.ClassNames)
            s.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {Cell(BaseCoverage, name)} | {Cell(MethodCoverage, name)} | {Cell(Coverage, name)} |");
        s.AppendLine();
        if (Coverage.Uncovered.Count == 0)
            s.AppendLine("Every box has an anchor at the threshold.");
        else
        {
            s.AppendLine(CultureInfo.InvariantCulture,
                $"{Coverage.Uncovered.Count} box(es) stay uncovered with the optimised anchors, e.g.:").AppendLine();
            foreach (var u in Coverage.Uncovered.Take(10))
                s.AppendLine(CultureInfo.InvariantCulture,
                    $"- box {u.Index} ({u.ClassName}, {u.Width:0.#}×{u.Height:0.#}): best IoU {u.BestIou:F2}");
        }
        return s.ToString();
    }

    private static string Pct(double v) => double.IsNaN(v) ? "—" : v.ToString("P1", CultureInfo.InvariantCulture);

    /// <summary>Writes the width/height scatter with the anchor shapes (<see cref="AnchorPlot"/>) as a PNG.</summary>
    public void SavePlot(string path) => AnchorPlot.Save(path, this);
}

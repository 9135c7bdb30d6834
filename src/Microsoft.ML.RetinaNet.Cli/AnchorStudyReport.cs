using System.Globalization;
using System.Text;
using Microsoft.ML.RetinaNet.Evaluation;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>The anchor study's results and their Markdown report (docs/anchor-study.md).</summary>
internal sealed record StudyReport(IReadOnlyList<StudyAnchors> AnchorSets, IReadOnlyList<StudyRun> Runs, IReadOnlyList<string> Classes,
    RetinaNetTrainer.Options Recipe, StudySettings Settings, DateTime Started, TimeSpan Elapsed)
{
    private const string Baseline = "default";

    /// <summary>The runs of one anchor set, by seed.</summary>
    public IReadOnlyList<StudyRun> Of(string anchors) => Runs.Where(r => r.Anchors == anchors).OrderBy(r => r.Seed).ToList();

    /// <summary>Seeds every anchor set has a run for: the pairs.</summary>
    private int[] PairedSeeds => Runs.Select(r => r.Seed).Distinct().Where(s => AnchorSets.All(a => Runs.Any(r => r.Anchors == a.Name
        && r.Seed == s)))
        .OrderBy(s => s).ToArray();

    /// <summary>Paired difference (anchor set − default) of one metric over the seeds both have.</summary>
    public PairedDifference Difference(string anchors, Func<StudyRun, double> metric)
    {
        var seeds = PairedSeeds;
        double Value(string name, int seed) => metric(Runs.First(r => r.Anchors == name && r.Seed == seed));
        return PairedDifference.Of(seeds.Select(s => Value(Baseline, s)).ToArray(), seeds.Select(s => Value(anchors, s)).ToArray());
    }

    /// <summary>Mean and sample standard deviation (0 for one value).</summary>
    public static (double Mean, double Sd) MeanSd(IEnumerable<double> values)
    {
        var v = values.ToArray();
        if (v.Length == 0) return (double.NaN, double.NaN);
        double mean = v.Average();
        double sd = v.Length < 2 ? 0 : Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1));
        return (mean, sd);
    }

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);

    private static string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);

    private static string Pm(IEnumerable<double> values)
    {
        var (mean, sd) = MeanSd(values);
        return $"{F(mean)} ± {F(sd)}";
    }

    /// <summary>One sentence per tuned set: does it beat the default on poles and skis, with the intervals.</summary>
    public string Verdict()
    {
        int pairs = PairedSeeds.Length;
        if (pairs < 2)
            return $"With {pairs} paired seed(s) there is no interval: the study cannot decide.";
        var s = new StringBuilder();
        foreach (var a in AnchorSets.Where(a => a.Name != Baseline))
        {
            var pole = Difference(a.Name, r => r.ClassAp["pole"]);
            var ski = Difference(a.Name, r => r.ClassAp["ski"]);
            static string Word(PairedDifference d) => d.IsPositive ? "beat" : d.IsNegative ? "fall short of" : "cannot be told from";
            s.AppendLine(CultureInfo.InvariantCulture,
                $"- **{a.Name}** anchors {Word(pole)} the default on poles (AP {pole}) and {Word(ski)} it on skis (AP {ski}); " +
                $"mAP {Difference(a.Name, r => r.Map)} — paired differences over {pairs} seeds, 95 % intervals.");
        }
        return s.ToString();
    }

    public string ToMarkdown(string pictureFile)
    {
        var b = Recipe;
        var st = Settings;
        var s = new StringBuilder();
        s.AppendLine("# Anchor study: what tuned anchors are worth on the ski scenes").AppendLine();
        string arguments = st.Arguments.Length > 0 ? " " + st.Arguments : "";
        s.AppendLine(Invariant($"Made by `dotnet run --project src/Microsoft.ML.RetinaNet.Cli -c Release -- anchor-study{arguments}` ")
            + Invariant($"on {Started:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores; ")
            + Invariant($"this invocation took {Elapsed.TotalMinutes:F1} minutes ")
            + Invariant($"(runs resumed from the .jsonl log beside this report are not in that time; ")
            + Invariant($"the seconds column has every run's).")).AppendLine();
        s.AppendLine(Invariant($"Every run is the main job's recipe: {st.Train} training and {st.Validation} validation scenes ")
            + Invariant($"of {b.ImageSize}² (object scale ")
            + Invariant($"{st.ObjectScale:0.##}: a pole ≈ {9 * b.ImageSize / 640.0 * st.ObjectScale:0.#} px wide), ML.NET's ImageNet ResNet-18 ")
            + Invariant($"(`PretrainedBackbone.{b.PretrainedBackbone}`), {b.Epochs} epochs, batch {b.BatchSize}, {b.Optimizer} at ")
            + Invariant($"{b.LearningRate.ToString("G4", CultureInfo.InvariantCulture)}, {b.Schedule} schedule, {b.WarmupSteps} warm-up steps, ")
            + Invariant($"{b.Precision}, matcher IoU {b.ForegroundIouThreshold:0.##}/{b.BackgroundIouThreshold:0.##} with low-quality matches; ")
            + Invariant($"metrics are COCO's on ")
            + Invariant($"{st.Test} test scenes. Runs are **paired**: seed k gives every anchor set the same data order, augmentation and initial ")
            + Invariant($"weights (but for the subnets' last convolutions, whose shape follows the anchors, and with finer strides ")
            + Invariant($"the box subnet's tower, ")
            + Invariant($"drawn after them from the same generator).")).AppendLine();

        s.AppendLine("## Anchor sets and their coverage of the training boxes").AppendLine();
        s.AppendLine(Invariant($"| anchors | anchors at {b.ImageSize}² | covered at IoU 0.5 | positives per box | ") +
            string.Join(" | ", Classes.Select(c => $"{c} covered / positives")) + " |");
        s.AppendLine("|---|---|---|---|" + string.Concat(Classes.Select(_ => "---|")));
        foreach (var a in AnchorSets)
            s.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {a.Name}: {a.Anchors} | {a.Anchors.AnchorCount(b.ImageSize):N0} | {a.Coverage.CoveredFraction:P1} | ") +
                string.Create(CultureInfo.InvariantCulture, $"{a.Coverage.MeanPositives:F1} | ") +
                string.Join(" | ", Classes.Select(c => string.Create(CultureInfo.InvariantCulture,
                    $"{a.Coverage.PerClass[c]:P1} / {a.Coverage.PerClassPositives[c]:F1}"))) + " |");
        s.AppendLine();

        int pairs = PairedSeeds.Length;
        s.AppendLine(CultureInfo.InvariantCulture, $"## Test metrics, mean ± sd over seeds ({pairs} paired)").AppendLine();
        s.AppendLine($"![per-class AP]({pictureFile})").AppendLine();
        s.AppendLine("| anchors | runs | AP50 | mAP | " + string.Join(" | ", Classes.Select(c => $"{c} AP")) + " | seconds per run |");
        s.AppendLine("|---|---|---|---|" + string.Concat(Classes.Select(_ => "---|")) + "---|");
        foreach (var a in AnchorSets)
        {
            var runs = Of(a.Name);
            s.AppendLine($"| {a.Name} | {runs.Count} | {Pm(runs.Select(r => r.Ap50))} | {Pm(runs.Select(r => r.Map))} | " +
                string.Join(" | ", Classes.Select(c => Pm(runs.Select(r => r.ClassAp[c])))) +
                $" | {MeanSd(runs.Select(r => r.Seconds)).Mean.ToString("F0", CultureInfo.InvariantCulture)} |");
        }
        s.AppendLine().AppendLine("Per-class AP50:").AppendLine();
        s.AppendLine("| anchors | " + string.Join(" | ", Classes.Select(c => $"{c} AP50")) + " |");
        s.AppendLine("|---|" + string.Concat(Classes.Select(_ => "---|")));
        foreach (var a in AnchorSets)
            s.AppendLine($"| {a.Name} | " + string.Join(" | ", Classes.Select(c => Pm(Of(a.Name).Select(r => r.ClassAp50[c])))) + " |");
        s.AppendLine();

        s.AppendLine("## Paired difference to the default anchors, mean [95 % interval]").AppendLine();
        s.AppendLine("| anchors | AP50 | mAP | " + string.Join(" | ", Classes.Select(c => $"{c} AP")) + " |");
        s.AppendLine("|---|---|---|" + string.Concat(Classes.Select(_ => "---|")));
        if (pairs > 0)
            foreach (var a in AnchorSets.Where(a => a.Name != Baseline))
                s.AppendLine($"| {a.Name} | {Difference(a.Name, r => r.Ap50)} | {Difference(a.Name, r => r.Map)} | " +
                    string.Join(" | ", Classes.Select(c => Difference(a.Name, r => r.ClassAp[c]).ToString())) + " |");
        s.AppendLine().AppendLine(Verdict());

        s.AppendLine("## Every run").AppendLine();
        s.AppendLine("| anchors | seed | AP50 | mAP | " + string.Join(" | ", Classes.Select(c => $"{c} AP / AP50")) + " | seconds |");
        s.AppendLine("|---|---|---|---|" + string.Concat(Classes.Select(_ => "---|")) + "---|");
        foreach (var r in Runs.OrderBy(r => r.Seed))
            s.AppendLine($"| {r.Anchors} | {r.Seed} | {F(r.Ap50)} | {F(r.Map)} | " +
                string.Join(" | ", Classes.Select(c => $"{F(r.ClassAp[c])} / {F(r.ClassAp50[c])}")) + " | " + r.Seconds.ToString("F0",
                    CultureInfo.InvariantCulture) + " |");
        return s.ToString();
    }
}

using System.Globalization;
using System.Text;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>The anchor study's results and their Markdown report (docs/anchor-study.md).</summary>
internal sealed record StudyReport(IReadOnlyList<StudyAnchors> AnchorSets, IReadOnlyList<(int Size, AnchorTuning.AnchorTuningResult Tuning)> Sizes, IReadOnlyList<StudyRun> Runs, IReadOnlyList<string> Classes,
    RetinaNetTrainer.Options Budget, int TrainImages, int TestImages, double ObjectScale, int Seeds, string Arguments, DateTime Started, TimeSpan Elapsed)
{
    /// <summary>The runs of one configuration.</summary>
    public IReadOnlyList<StudyRun> Of(string anchors, bool pretrained) => Runs.Where(r => r.Anchors == anchors && r.Pretrained == pretrained).ToList();

    /// <summary>Mean and sample standard deviation (0 for one value).</summary>
    public static (double Mean, double Sd) MeanSd(IEnumerable<double> values)
    {
        var v = values.ToArray();
        if (v.Length == 0) return (double.NaN, double.NaN);
        double mean = v.Average();
        double sd = v.Length < 2 ? 0 : Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1));
        return (mean, sd);
    }

    private static string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);

    private static string Pm(IEnumerable<double> values)
    {
        var (mean, sd) = MeanSd(values);
        return $"{F(mean)} ± {F(sd)}";
    }

    public string ToMarkdown(string pictureFile)
    {
        var b = Budget;
        var s = new StringBuilder();
        s.AppendLine("# Anchor study: what tuned anchors are worth on the ski scenes").AppendLine();
        s.AppendLine(CultureInfo.InvariantCulture, $"Made by `dotnet run --project src/Microsoft.ML.RetinaNet.Cli -c Release -- anchor-study{(Arguments.Length > 0 ? " " + Arguments : "")}` on {Started:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores; the whole study took {Elapsed.TotalMinutes:F1} minutes.").AppendLine();
        s.AppendLine(CultureInfo.InvariantCulture, $"Budget of every run: {TrainImages} training scenes and {TestImages} test scenes of {b.ImageSize}² (object scale {ObjectScale:0.##}: a pole ≈ {9 * b.ImageSize / 640.0 * ObjectScale:0.#} px wide and {90 * b.ImageSize / 640.0 * ObjectScale:0.#} px tall), " +
            $"{b.Epochs} epochs, batch {b.BatchSize}, {b.Optimizer} at {b.LearningRate.ToString("G4", CultureInfo.InvariantCulture)} with a {b.Schedule} schedule and {b.WarmupSteps} warm-up steps, " +
            $"V1 heads, matcher IoU {b.ForegroundIouThreshold.ToString("0.##", CultureInfo.InvariantCulture)}/{b.BackgroundIouThreshold.ToString("0.##", CultureInfo.InvariantCulture)} with low-quality matches. " +
            $"From scratch: ResNet-18 with BatchNorm, all stages training. Pretrained: ML.NET's ImageNet ResNet-18 (`PretrainedBackbone.ResNet18`), FrozenBatchNorm, 3 stages training. " +
            $"Seeds 1–{Seeds} change initialisation, shuffling and augmentation; the data is the same for all runs. Metrics are COCO's on the test split.").AppendLine();

        s.AppendLine("## Anchor sets and their coverage of the training boxes").AppendLine();
        s.AppendLine("| anchors | per location | covered at IoU 0.5 | positives per box | mean best IoU | " + string.Join(" | ", Classes.Select(c => $"{c} covered")) + " |");
        s.AppendLine("|---|---|---|---|---|" + string.Concat(Classes.Select(_ => "---|")));
        foreach (var a in AnchorSets)
            s.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {a.Name}: scales [{string.Join(", ", a.Anchors.Scales.Select(x => x.ToString("0.###", CultureInfo.InvariantCulture)))}], ratios [{string.Join(", ", a.Anchors.Ratios.Select(x => x.ToString("0.###", CultureInfo.InvariantCulture)))}] | {a.Anchors.AnchorsPerLocation} | {a.Coverage.CoveredFraction:P1} | {a.Coverage.MeanPositives:F2} | {a.Coverage.MeanBestIou:F3} | ") +
                string.Join(" | ", Classes.Select(c => a.Coverage.PerClass[c].ToString("P1", CultureInfo.InvariantCulture))) + " |");
        s.AppendLine();

        s.AppendLine("### Coverage at other image sizes").AppendLine();
        s.AppendLine("The same scenes rendered at other sizes (objects scale with the image; strides stay 8–128), anchors tuned again at each size; covered at IoU 0.5 (at 0.4 in brackets):").AppendLine();
        s.AppendLine("| image size | pole width (mean px) | " + string.Join(" | ", AnchorSets.Select(a => $"{a.Name}: all")) + " | " + string.Join(" | ", AnchorSets.Select(a => $"{a.Name}: pole")) + " | " + string.Join(" | ", AnchorSets.Select(a => $"{a.Name}: ski")) + " |");
        s.AppendLine("|---|---|" + string.Concat(Enumerable.Repeat("---|", 3 * AnchorSets.Count)));
        foreach (var (size, t) in Sizes)
        {
            var coverages = new[] { t.BaseCoverage, t.MethodCoverage, t.Coverage };
            int pole = t.Boxes.ClassNames.ToList().IndexOf("pole");
            double poleWidth = pole < 0 ? double.NaN : Enumerable.Range(0, t.Boxes.Count).Where(i => t.Boxes.Labels[i] == pole).Average(i => t.Boxes.Boxes[4 * i + 2] - t.Boxes.Boxes[4 * i]);
            string Cell(AnchorTuning.AnchorCoverage c, string? cls) => cls is null
                ? c.CoveredFraction.ToString("P0", CultureInfo.InvariantCulture) + " (" + c.CoveredFractionAt40.ToString("P0", CultureInfo.InvariantCulture) + ")"
                : c.PerClass.TryGetValue(cls, out var v) ? v.ToString("P0", CultureInfo.InvariantCulture) : "—";
            s.AppendLine($"| {size} | {poleWidth.ToString("0.0", CultureInfo.InvariantCulture)} | " + string.Join(" | ", coverages.Select(c => Cell(c, null))) + " | "
                + string.Join(" | ", coverages.Select(c => Cell(c, "pole"))) + " | " + string.Join(" | ", coverages.Select(c => Cell(c, "ski"))) + " |");
        }
        s.AppendLine();

        s.AppendLine($"## Test metrics, mean ± sd over {Seeds} seeds").AppendLine();
        s.AppendLine($"![per-class AP50]({pictureFile})").AppendLine();
        s.AppendLine("| backbone | anchors | AP50 | mAP | " + string.Join(" | ", Classes.Select(c => $"{c} AP50")) + " | seconds per run |");
        s.AppendLine("|---|---|---|---|" + string.Concat(Classes.Select(_ => "---|")) + "---|");
        foreach (var pretrained in new[] { false, true })
        {
            foreach (var a in AnchorSets)
            {
                var runs = Of(a.Name, pretrained);
                s.AppendLine($"| {(pretrained ? "pretrained" : "scratch")} | {a.Name} | {Pm(runs.Select(r => r.Ap50))} | {Pm(runs.Select(r => r.Map))} | " +
                    string.Join(" | ", Classes.Select(c => Pm(runs.Select(r => r.ClassAp50[c])))) + $" | {MeanSd(runs.Select(r => r.Seconds)).Mean.ToString("F0", CultureInfo.InvariantCulture)} |");
            }
        }
        s.AppendLine();
        s.AppendLine("Per-class AP@[.50:.95]:").AppendLine();
        s.AppendLine("| backbone | anchors | " + string.Join(" | ", Classes) + " |");
        s.AppendLine("|---|---|" + string.Concat(Classes.Select(_ => "---|")));
        foreach (var pretrained in new[] { false, true })
            foreach (var a in AnchorSets)
                s.AppendLine($"| {(pretrained ? "pretrained" : "scratch")} | {a.Name} | " + string.Join(" | ", Classes.Select(c => Pm(Of(a.Name, pretrained).Select(r => r.ClassAp[c])))) + " |");
        s.AppendLine();

        s.AppendLine("## Every run").AppendLine();
        s.AppendLine("| backbone | anchors | seed | AP50 | mAP | " + string.Join(" | ", Classes.Select(c => $"{c} AP50")) + " | seconds |");
        s.AppendLine("|---|---|---|---|---|" + string.Concat(Classes.Select(_ => "---|")) + "---|");
        foreach (var r in Runs)
            s.AppendLine($"| {(r.Pretrained ? "pretrained" : "scratch")} | {r.Anchors} | {r.Seed} | {F(r.Ap50)} | {F(r.Map)} | " +
                string.Join(" | ", Classes.Select(c => F(r.ClassAp50[c]))) + " | " + r.Seconds.ToString("F0", CultureInfo.InvariantCulture) + " |");
        return s.ToString();
    }
}

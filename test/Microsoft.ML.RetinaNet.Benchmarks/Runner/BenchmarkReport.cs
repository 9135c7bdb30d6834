using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Microsoft.ML.RetinaNet.Benchmarks.Runner;

/// <summary>A scaling measurement: one configuration's medians on both sides.</summary>
internal sealed record ScalingRow(string Kind, int Size, int Batch, double Ours, double? Theirs)
{
    public double? Ratio => Theirs is { } t && t > 0 ? Ours / t : null;
}

/// <summary>Writes BENCHMARKS.md and BENCHMARKS.json from one run's figures.</summary>
internal sealed class BenchmarkReport
{
    public required MachineInfo Machine { get; init; }
    public required DateTime Started { get; init; }
    public required TimeSpan Duration { get; init; }
    public required int Rounds { get; init; }
    public required string Command { get; init; }
    public required IReadOnlyList<FigureResult> Figures { get; init; }
    public required IReadOnlyList<ScalingRow> Scaling { get; init; }
    public string? Findings { get; init; }
    public required IReadOnlyList<(string Name, string Environment, double R50StepSeconds)> Calibration { get; init; }
    public required string TunedSetting { get; init; }
    public required MachinePeak Peak { get; init; }

    private static string F(double value) => value.ToString(value >= 100 ? "F0" : value >= 10 ? "F1" : value >= 0.1 ? "F3" : "G3", CultureInfo.InvariantCulture);

    public string Markdown()
    {
        var md = new StringBuilder();
        md.AppendLine("# Benchmarks: Microsoft.ML.RetinaNet against torchvision on the same machine");
        md.AppendLine();
        md.AppendLine($"Written by `{Command}` on {Started:yyyy-MM-dd HH:mm} UTC in {Duration.TotalMinutes:F0} minutes. Do not edit by hand: run the command again.");
        md.AppendLine("Both sides run in turns (ours, torchvision as shipped, torchvision tuned, ours … , " + Rounds + " rounds, after the same warm-up runs on each side: 3 for training steps and inference, 1 otherwise); every figure is the median of all runs.");
        md.AppendLine("**The ratios (ours / torchvision, lower is better for both time and memory) are the figures that count**; absolute times are context for this machine.");
        md.AppendLine();
        md.AppendLine("| machine | |");
        md.AppendLine("|---|---|");
        md.AppendLine($"| CPU | {Machine.Cpu}, {Machine.Cores} logical cores, {Machine.MemoryGiB:F1} GiB |");
        md.AppendLine($"| OS | {Machine.OperatingSystem} |");
        md.AppendLine($"| ours | {Machine.DotNet}, TorchSharp {Machine.TorchSharp} (libtorch CPU), ML.NET {Machine.MLNet}, ONNX Runtime {Machine.OnnxRuntime}; {Machine.OurThreads} torch threads |");
        md.AppendLine($"| torchvision | {Machine.Reference} |");
        md.AppendLine();
        md.AppendLine("## torchvision at its best");
        md.AppendLine();
        md.AppendLine("torchvision runs with glibc's malloc defaults as it ships; our trainer sets mallopt while `Fit` runs. A user who cares about speed sets the");
        md.AppendLine("same policy (or another allocator) for Python in one line, so the run first times torchvision's R50 training step under each setting");
        md.AppendLine($"this machine has, then measures every figure against both the as-shipped process and the fastest tuned one (**{TunedSetting}**).");
        md.AppendLine("**Every ratio and target is against the faster of the two**, measured in the same run.");
        md.AppendLine();
        md.AppendLine("| torchvision setting | environment | R50 step 512² batch 2 |");
        md.AppendLine("|---|---|---:|");
        foreach (var (name, environment, seconds) in Calibration)
            md.AppendLine($"| {name}{(name == TunedSetting ? " (used)" : "")} | `{environment}` | {F(seconds)} s |");
        md.AppendLine();
        md.AppendLine("## The machine's limit");
        md.AppendLine();
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Measured through libtorch on these cores ({Machine.OurThreads} threads): float32 {Peak.Fp32:F0} GFLOP/s (GEMM 2048³ {Peak.Fp32Gemm:F0}, 3×3 convolution 256→256 at 64² batch 8 {Peak.Fp32Conv:F0}), "));
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"bfloat16 {Peak.Bf16:F0} GFLOP/s (GEMM {Peak.Bf16Gemm:F0}, convolution {Peak.Bf16Conv:F0}). A workload's FLOPs are counted from its layer shapes (convolutions; a training step is 3 × the forward pass);"));
        md.AppendLine("achieved GFLOP/s = FLOPs / median time, and its share of the float32 peak says how much room is left for either side.");
        md.AppendLine();
        md.AppendLine("## Figures and targets");
        md.AppendLine();
        md.AppendLine($"| figure | ours | torchvision at its best | torchvision as shipped | ratio (best) | ratio (as shipped) | target | met | GFLOP/s ours / torchvision (% of fp32 peak) |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---|---|---|");
        foreach (var f in Figures)
        {
            string theirs = f.TheirsMedian is { } t ? $"{F(t)} {f.Unit} ({f.BestSetting})" : "—";
            string shipped = f.AsShippedMedian is { } s ? $"{F(s)} {f.Unit}" : "—";
            string ratio = f.Ratio is { } r ? $"**{r.ToString("F2", CultureInfo.InvariantCulture)}**" : "—";
            string ratioShipped = f.RatioAsShipped is { } rs ? rs.ToString("F2", CultureInfo.InvariantCulture) : "—";
            string met = f.Met switch { true => "yes", false => "**no**", null => "—" };
            string gflops = f.OursGflops is { } og
                ? string.Create(CultureInfo.InvariantCulture, $"{og:F0} ({100 * og / Peak.Fp32:F0} %) / {(f.TheirsGflops is { } tg ? $"{tg:F0} ({100 * tg / Peak.Fp32:F0} %)" : "—")}")
                : "—";
            md.AppendLine($"| {f.Title} | {F(f.OursMedian)} {f.Unit} | {theirs} | {shipped} | {ratio} | {ratioShipped} | {f.Target.Text} | {met} | {gflops} |");
        }
        md.AppendLine();
        foreach (var f in Figures.Where(f => f.Note != null))
            md.AppendLine($"- **{f.Title}**: {f.Note}");
        md.AppendLine();
        foreach (var kind in Scaling.Select(s => s.Kind).Distinct())
        {
            var rows = Scaling.Where(s => s.Kind == kind).ToList();
            var baseline = rows.FirstOrDefault(r => r.Size == 512 && r.Batch == 1) ?? rows[0];
            md.AppendLine($"## Scaling: {kind}");
            md.AppendLine();
            md.AppendLine($"Growth is relative to {baseline.Size}², batch {baseline.Batch} on the same side: a steeper curve than torchvision's shows as a larger growth.");
            md.AppendLine();
            md.AppendLine("| size | batch | ours (s) | torchvision (s) | ratio | growth ours | growth torchvision |");
            md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var r in rows)
            {
                string growthTheirs = r.Theirs is { } t && baseline.Theirs is { } bt ? (t / bt).ToString("F2", CultureInfo.InvariantCulture) : "—";
                md.AppendLine($"| {r.Size} | {r.Batch} | {F(r.Ours)} | {(r.Theirs is { } th ? F(th) : "—")} | {(r.Ratio is { } ra ? ra.ToString("F2", CultureInfo.InvariantCulture) : "—")} | {(r.Ours / baseline.Ours).ToString("F2", CultureInfo.InvariantCulture)} | {growthTheirs} |");
            }
            md.AppendLine();
        }
        if (Findings != null)
        {
            md.AppendLine(Findings.TrimEnd());
            md.AppendLine();
        }
        return md.ToString();
    }

    public string Json() => JsonSerializer.Serialize(new
    {
        started = Started,
        durationSeconds = Math.Round(Duration.TotalSeconds),
        rounds = Rounds,
        command = Command,
        machine = Machine,
        calibration = Calibration.Select(c => new { setting = c.Name, environment = c.Environment, r50StepSeconds = c.R50StepSeconds }),
        tunedSetting = TunedSetting,
        peakGflops = Peak,
        figures = Figures.Select(f => new
        {
            key = f.Key, title = f.Title, unit = f.Unit, ours = f.OursMedian, torchvision = f.TheirsMedian, torchvisionSetting = f.BestSetting,
            torchvisionAsShipped = f.AsShippedMedian, ratio = f.Ratio, ratioAsShipped = f.RatioAsShipped, flops = f.Flops,
            oursGflops = f.OursGflops, torchvisionGflops = f.TheirsGflops,
            target = f.Target.Text, met = f.Met, oursRuns = f.Ours, torchvisionRuns = f.TheirsBySetting, note = f.Note,
        }),
        scaling = Scaling.Select(s => new { kind = s.Kind, size = s.Size, batch = s.Batch, ours = s.Ours, torchvision = s.Theirs, ratio = s.Ratio }),
    }, new JsonSerializerOptions { WriteIndented = true });

    public void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "BENCHMARKS.md"), Markdown());
        File.WriteAllText(Path.Combine(folder, "BENCHMARKS.json"), Json());
    }
}

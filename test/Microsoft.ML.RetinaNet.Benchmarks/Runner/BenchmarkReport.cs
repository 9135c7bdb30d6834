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

    private static string F(double value) => value.ToString(value >= 100 ? "F0" : value >= 10 ? "F1" : value >= 0.1 ? "F3" : "G3", CultureInfo.InvariantCulture);

    public string Markdown()
    {
        var md = new StringBuilder();
        md.AppendLine("# Benchmarks: Microsoft.ML.RetinaNet against torchvision on the same machine");
        md.AppendLine();
        md.AppendLine($"Written by `{Command}` on {Started:yyyy-MM-dd HH:mm} UTC in {Duration.TotalMinutes:F0} minutes. Do not edit by hand: run the command again.");
        md.AppendLine("Both sides run in turns (ours, torchvision, ours, torchvision …, " + Rounds + " rounds, after the same warm-up runs on each side: 3 for training steps and inference, 1 otherwise); every figure is the median of all runs.");
        md.AppendLine("**The ratios (ours / torchvision, lower is better for both time and memory) are the figures that count**; absolute times are context for this machine.");
        md.AppendLine();
        md.AppendLine("| machine | |");
        md.AppendLine("|---|---|");
        md.AppendLine($"| CPU | {Machine.Cpu}, {Machine.Cores} logical cores, {Machine.MemoryGiB:F1} GiB |");
        md.AppendLine($"| OS | {Machine.OperatingSystem} |");
        md.AppendLine($"| ours | {Machine.DotNet}, TorchSharp {Machine.TorchSharp} (libtorch CPU), ML.NET {Machine.MLNet}, ONNX Runtime {Machine.OnnxRuntime}; {Machine.OurThreads} torch threads |");
        md.AppendLine($"| torchvision | {Machine.Reference} |");
        md.AppendLine();
        md.AppendLine("## Figures and targets");
        md.AppendLine();
        md.AppendLine("| figure | ours | torchvision | ratio | target | met |");
        md.AppendLine("|---|---:|---:|---:|---|---|");
        foreach (var f in Figures)
        {
            string theirs = f.TheirsMedian is { } t ? $"{F(t)} {f.Unit}" : "—";
            string ratio = f.Ratio is { } r ? r.ToString("F2", CultureInfo.InvariantCulture) : "—";
            string met = f.Met switch { true => "yes", false => "**no**", null => "—" };
            md.AppendLine($"| {f.Title} | {F(f.OursMedian)} {f.Unit} | {theirs} | {ratio} | {f.Target.Text} | {met} |");
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
        figures = Figures.Select(f => new
        {
            key = f.Key, title = f.Title, unit = f.Unit, ours = f.OursMedian, torchvision = f.TheirsMedian, ratio = f.Ratio,
            target = f.Target.Text, met = f.Met, oursRuns = f.Ours, torchvisionRuns = f.Theirs, note = f.Note,
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

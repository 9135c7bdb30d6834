using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.ML.RetinaNet.Benchmarks.Workloads;

namespace Microsoft.ML.RetinaNet.Benchmarks.Runner;

/// <summary>
/// Measures a figure on both sides in turns — ours, theirs, ours, theirs … for <see cref="Rounds"/> rounds of
/// <c>iterations</c> runs each — after the same number of warm-up runs on each side, so that both see the same machine state (thermal,
/// other load) and a drift shows up in both. Figures are medians over all runs.
/// </summary>
internal sealed class Interleaver
{
    private readonly IReadOnlyList<ReferenceProcess> _references;

    /// <summary>Ours against each of <paramref name="references"/> (torchvision under different allocator settings), in turns.</summary>
    public Interleaver(IReadOnlyList<ReferenceProcess> references, int rounds)
    {
        _references = references;
        Rounds = rounds;
    }

    public Interleaver(ReferenceProcess? reference, int rounds) : this(reference is null ? Array.Empty<ReferenceProcess>() : new[] { reference }, rounds)
    {
    }

    public int Rounds { get; }

    /// <summary>
    /// Times <paramref name="ours"/> and (when given) the reference's <paramref name="theirs"/>; with
    /// <paramref name="perImage"/> both are divided by the images per run.
    /// </summary>
    public FigureResult Compare(FigureResult figure, Func<IWorkload> ours, JsonObject? theirs, int iterations, bool perImage = false, int warmups = 1)
    {
        Console.WriteLine($"{figure.Title}: warming up");
        var clock = Stopwatch.StartNew();
        using var workload = ours();
        for (int i = 0; i < warmups; i++)
            workload.Run();
        if (theirs != null)
        {
            theirs = theirs.DeepClone().AsObject();
            theirs["warmup"] = warmups;
        }
        int theirImages = theirs?["images"] is JsonArray images ? images.Count : theirs?["batch"]?.GetValue<int>() ?? 1;
        if (theirs != null)
            foreach (var reference in _references)
                figure.TheirsBySetting[reference.Setting.Name] = new List<double>();
        for (int round = 0; round < Rounds; round++)
        {
            for (int i = 0; i < iterations; i++)
            {
                var run = Stopwatch.StartNew();
                workload.Run();
                figure.Ours.Add(run.Elapsed.TotalSeconds / (perImage ? workload.Images : 1));
            }
            if (theirs != null)
                foreach (var reference in _references)
                    figure.TheirsBySetting[reference.Setting.Name].AddRange(reference.Measure(theirs, iterations).Select(s => s / (perImage ? theirImages : 1)));
        }
        string theirsText = figure.TheirsMedian is { } t ? string.Create(CultureInfo.InvariantCulture,
            $", torchvision {string.Join(", ", figure.TheirsBySetting.Select(p => $"{p.Key} {FigureResult.Median(p.Value):G4}"))} {figure.Unit}, ratio against the best {figure.Ratio:F3}") : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{figure.Title}: ours {figure.OursMedian:G4} {figure.Unit}{theirsText} ({clock.Elapsed.TotalSeconds:F0} s)"));
        return figure;
    }
}

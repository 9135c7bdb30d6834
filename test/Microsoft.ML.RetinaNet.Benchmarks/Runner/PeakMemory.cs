using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.RetinaNet.Benchmarks.Workloads;

namespace Microsoft.ML.RetinaNet.Benchmarks.Runner;

/// <summary>
/// Peak resident memory of training, each side in a fresh process (this program's <c>peak-memory</c> verb and the
/// reference script's): build the network, train a few steps, report the process's high-water mark (VmHWM /
/// ru_maxrss). Whole processes are compared: the .NET runtime and ML.NET on ours, the Python interpreter on theirs.
/// </summary>
internal static class PeakMemory
{
    private static readonly string[] Keys = { "--depth", "--size", "--batch", "--steps" };

    /// <summary>The child side: trains and prints {"peak_rss_mib": …}.</summary>
    public static void RunChild(int depth, int size, int batch, int steps)
    {
        using (var step = new TrainStepWorkload(depth, size, batch, BenchmarkData.GroundTruth(batch, size)))
            for (int i = 0; i < steps; i++)
                step.Run();
        Console.WriteLine(JsonSerializer.Serialize(new { peak_rss_mib = HighWaterMarkMiB() }));
    }

    /// <summary>VmHWM of this process from /proc/self/status, in MiB.</summary>
    public static double HighWaterMarkMiB()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        throw new InvalidOperationException("/proc/self/status has no VmHWM line (peak memory is measured on Linux only).");
    }

    public static double Ours(int threads, int depth, int size, int batch, int steps)
    {
        string self = Environment.ProcessPath!;
        var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
            psi.ArgumentList.Add(typeof(PeakMemory).Assembly.Location);
        foreach (var a in Arguments("peak-memory", threads, depth, size, batch, steps)) psi.ArgumentList.Add(a);
        return Read(psi, "ours");
    }

    public static double Theirs(int threads, int depth, int size, int batch, int steps, ReferenceSetting? setting = null)
    {
        var psi = ReferenceProcess.Start(setting ?? ReferenceSetting.AsShipped, Arguments("peak-memory", threads, depth, size, batch, steps)
            .Append("--boxes").Append(JsonSerializer.Serialize(BenchmarkData.GroundTruth(batch, size))).ToArray());
        return Read(psi, "torchvision");
    }

    private static string[] Arguments(string verb, int threads, int depth, int size, int batch, int steps) =>
        new[] { verb, "--threads", threads.ToString(CultureInfo.InvariantCulture) }
            .Concat(Keys.Zip(new[] { depth, size, batch, steps }, (k, v) => new[] { k, v.ToString(CultureInfo.InvariantCulture) }).SelectMany(x => x))
            .ToArray();

    private static double Read(ProcessStartInfo psi, string side)
    {
        using var process = Process.Start(psi)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        string? last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{'));
        if (process.ExitCode != 0 || last == null)
            throw new InvalidOperationException($"The {side} peak-memory process failed (exit code {process.ExitCode}): {output}");
        return JsonDocument.Parse(last).RootElement.GetProperty("peak_rss_mib").GetDouble();
    }
}

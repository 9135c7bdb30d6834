using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Microsoft.ML.RetinaNet.Benchmarks.Runner;

/// <summary>
/// torchvision's side: <c>reference/torchvision_reference.py serve</c> in Debian's Python, kept running for the whole
/// benchmark and asked for one measurement at a time (one JSON line each way), so its figures interleave with ours.
/// </summary>
internal sealed class ReferenceProcess : IDisposable
{
    private readonly Process _process;

    public ReferenceProcess(int threads, ReferenceSetting? setting = null)
    {
        Setting = setting ?? ReferenceSetting.AsShipped;
        var psi = Start(Setting, "serve", "--threads", threads.ToString(System.Globalization.CultureInfo.InvariantCulture));
        psi.RedirectStandardInput = true;
        _process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {Python}.");
    }

    /// <summary>How this process was started (allocator settings).</summary>
    public ReferenceSetting Setting { get; }

    /// <summary>The interpreter with torchvision 0.14.1: <c>RETINANET_BENCHMARK_PYTHON</c>, else Debian's /usr/bin/python3.</summary>
    public static string Python => Environment.GetEnvironmentVariable("RETINANET_BENCHMARK_PYTHON") ?? "/usr/bin/python3";

    public static string Script => Path.Combine(AppContext.BaseDirectory, "reference", "torchvision_reference.py");

    /// <summary>A start description for the reference script with <paramref name="arguments"/>; standard output redirected.</summary>
    public static ProcessStartInfo Start(params string[] arguments) => Start(ReferenceSetting.AsShipped, arguments);

    /// <summary>The same, with the environment of <paramref name="setting"/>.</summary>
    public static ProcessStartInfo Start(ReferenceSetting setting, params string[] arguments)
    {
        if (!File.Exists(Python))
            throw new InvalidOperationException($"{Python} does not exist. Install Debian's torchvision (sudo apt-get install python3-torchvision) " +
                "or point RETINANET_BENCHMARK_PYTHON at a Python with torch and torchvision.");
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Script);
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        foreach (var (name, value) in setting.Environment)
            psi.Environment[name] = value;
        return psi;
    }

    public JsonObject Ask(JsonObject request)
    {
        _process.StandardInput.WriteLine(request.ToJsonString());
        _process.StandardInput.Flush();
        string? line = _process.StandardOutput.ReadLine();
        if (line == null)
            throw new InvalidOperationException($"The torchvision reference process ended (exit code {(_process.HasExited ? _process.ExitCode : -1)}) while asked: {request.ToJsonString()}");
        var answer = JsonNode.Parse(line)!.AsObject();
        if (answer["error"] is { } error)
            throw new InvalidOperationException($"torchvision reference failed on {request["figure"]}: {error}");
        return answer;
    }

    /// <summary>Seconds per iteration (the reference warms up once per new configuration first).</summary>
    public double[] Measure(JsonObject request, int iterations)
    {
        var copy = request.DeepClone().AsObject();
        copy["iterations"] = iterations;
        return Ask(copy)["seconds"]!.AsArray().Select(x => x!.GetValue<double>()).ToArray();
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(10_000))
                _process.Kill();
        }
        finally
        {
            _process.Dispose();
        }
    }
}

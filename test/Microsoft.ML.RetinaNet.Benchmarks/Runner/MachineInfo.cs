using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Microsoft.ML.RetinaNet.Benchmarks.Runner;

/// <summary>What the figures were measured on: CPU, cores, memory, OS, runtimes and library versions of both sides.</summary>
internal sealed record MachineInfo(string Cpu, int Cores, double MemoryGiB, string OperatingSystem, string DotNet, string TorchSharp,
    string MLNet, string OnnxRuntime, int OurThreads, string Reference)
{
    public static MachineInfo Collect(int threads, JsonObject? referenceVersions)
    {
        string cpu = ReadField("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString();
        double memory = double.TryParse(ReadField("/proc/meminfo", "MemTotal")?.Split(' ')[0], out var kb) ? kb / 1024 / 1024 : double.NaN;
        string os = ReadField("/etc/os-release", "PRETTY_NAME", '=')?.Trim('"') ?? RuntimeInformation.OSDescription;
        string reference = referenceVersions == null ? "not run"
            : $"torch {referenceVersions["torch"]}, torchvision {referenceVersions["torchvision"]}, Python {referenceVersions["python"]}, {referenceVersions["threads"]} threads, mkldnn {referenceVersions["mkldnn"]}";
        return new MachineInfo(cpu, Environment.ProcessorCount, Math.Round(memory, 1), os, RuntimeInformation.FrameworkDescription,
            Version(typeof(TorchSharp.torch)), Version(typeof(MLContext)), Version(typeof(Microsoft.ML.OnnxRuntime.InferenceSession)), threads, reference);
    }

    private static string Version(Type type) =>
        (type.Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false).FirstOrDefault() as System.Reflection.AssemblyInformationalVersionAttribute)
            ?.InformationalVersion.Split('+')[0] ?? type.Assembly.GetName().Version?.ToString() ?? "?";

    private static string? ReadField(string file, string name, char separator = ':')
    {
        if (!File.Exists(file)) return null;
        foreach (string line in File.ReadLines(file))
        {
            int at = line.IndexOf(separator);
            if (at > 0 && line[..at].Trim() == name)
                return line[(at + 1)..].Trim();
        }
        return null;
    }
}

using System.Globalization;

namespace Microsoft.ML.RetinaNet.Benchmarks.Runner;

/// <summary>The runner's command line: a verb (none for the full run), flags and <c>--name value</c> pairs.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    /// <summary>What --help prints: the verbs and options.</summary>
    public const string Usage = """
        Benchmarks against torchvision on this machine; writes BENCHMARKS.md and BENCHMARKS.json at the repository root.

        Usage: dotnet run --project test/Microsoft.ML.RetinaNet.Benchmarks -c Release -- [verb] [options]

        Verbs:
          (none)           the full run: both sides interleaved, every figure, the report
          micro [args]     the BenchmarkDotNet micro benchmarks (BenchmarkDotNet's own arguments follow)
          loaded-latency   per-image latency of a fitted model, loaded with LoadRetinaNet and with ML.NET's defaults
          limits           the machine's measured fp32/bf16 peak and the workloads' FLOPs
          peak-memory      the child process the peak-memory figure starts (not for direct use)

        Options:
          --quick          1 round and a small scaling table, written to artifacts/benchmarks-quick
          --rounds N       rounds of each figure [3]
          --threads N      intra-op threads on both sides [the machine's cores]
          --output DIR     where BENCHMARKS.md/json go [the repository root]
          --main-report DIR  a main-job report folder to quote
          --depth N, --size N, --repeats N, --batch N, --steps N   for loaded-latency and peak-memory
          --help, -h       this text
        """;

    public bool Help { get; private set; }

    public string? Verb { get; private set; }
    public bool Quick { get; private set; }
    public int Rounds { get; private set; } = 3;
    public int Threads { get; private set; } = Environment.ProcessorCount;
    public string? Output { get; private set; }

    public int Get(string name, int fallback) => _values.TryGetValue(name, out var v) ? Parse(name, v) : fallback;

    public string Get(string name, string fallback) => _values.GetValueOrDefault(name, fallback);

    public static Arguments Parse(string[] args)
    {
        var result = new Arguments();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (a == "--quick") { result.Quick = true; continue; }
            if (a is "--help" or "-h" or "-?") { result.Help = true; continue; }
            if (!a.StartsWith("--", StringComparison.Ordinal))
            {
                if (result.Verb != null || i > 0)
                    throw new ArgumentException($"Unexpected argument '{a}'; --help lists the verbs and options.");
                result.Verb = a;
                continue;
            }
            if (i + 1 >= args.Length)
                throw new ArgumentException($"'{a}' needs a value; --help lists the options.");
            result._values[a] = args[++i];
        }
        if (result.Quick) result.Rounds = 1;
        result.Rounds = result.Get("--rounds", result.Rounds);
        result.Threads = result.Get("--threads", result.Threads);
        result.Output = result._values.GetValueOrDefault("--output");
        if (result.Rounds < 1 || result.Threads < 1)
            throw new ArgumentException("--rounds and --threads must be at least 1.");
        return result;
    }

    private static int Parse(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : throw new ArgumentException($"{name} must be a whole number, not '{value}'.");

    /// <summary>The folder holding Microsoft.ML.RetinaNet.slnx, found upwards from the program's folder.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Microsoft.ML.RetinaNet.slnx")))
                return dir.FullName;
        throw new InvalidOperationException("Could not find the repository root (Microsoft.ML.RetinaNet.slnx) above " + AppContext.BaseDirectory + "; pass --output DIR.");
    }
}

using System.Globalization;

namespace Microsoft.ML.RetinaNet.Benchmarks.Runner;

/// <summary>
/// Accuracy checks that need a trained detector come from the main job's report folder (the README's first command
/// writes runs/main/report): the benchmark quotes them with where and when they were written rather than training here.
/// </summary>
internal static class MainJobReport
{
    /// <summary>The int8 export's line from int8.md (float32 and int8 AP50/mAP on the test split), or how to get it.</summary>
    public static string Int8(string folder)
    {
        string path = Path.Combine(folder, "int8.md");
        if (!File.Exists(path))
            return $"not measured here: {path} is missing; the main job (`dotnet run --project src/Microsoft.ML.RetinaNet.Cli -c Release`) writes it.";
        string line = File.ReadAllText(path).Trim();
        return string.Create(CultureInfo.InvariantCulture, $"{line} (the main job's {path}, written {File.GetLastWriteTimeUtc(path):yyyy-MM-dd HH:mm} UTC).");
    }
}

using System.Diagnostics;

namespace Microsoft.ML.RetinaNet.Tests.Parity;

/// <summary>Runs test/fixtures/make_torchvision_fixtures.py with Debian's python3 and python3-torchvision (installed by .ci/run).</summary>
internal static class TorchvisionScript
{
    public const string Python = "/usr/bin/python3";

    public static string ScriptPath => Path.Combine(AppContext.BaseDirectory, "fixtures", "make_torchvision_fixtures.py");

    public static void Run(params string[] arguments)
    {
        if (!File.Exists(Python))
            throw new InvalidOperationException($"{Python} is missing: install python3-torchvision (bash .ci/run does) to run the .pth tests.");
        var psi = new ProcessStartInfo(Python) { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(ScriptPath);
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        string stdout = process.StandardOutput.ReadToEnd();
        string stderr = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(120_000))
        {
            process.Kill();
            throw new TimeoutException("the torchvision fixture script did not finish in 2 minutes");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"the torchvision fixture script failed ({process.ExitCode}); is python3-torchvision installed?\n{stdout}\n{stderr}");
    }
}

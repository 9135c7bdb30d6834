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
        // a run takes seconds; the guard allows for a machine many times slower
        var result = ChildProcess.Run(Python, new[] { ScriptPath }.Concat(arguments), TimeSpan.FromMinutes(10));
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"the torchvision fixture script failed ({result.ExitCode}); is python3-torchvision installed?\n{result.Out}\n{result.Error}");
    }
}

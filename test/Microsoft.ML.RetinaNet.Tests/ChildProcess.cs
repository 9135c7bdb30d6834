using System.Diagnostics;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests;

/// <summary>
/// Runs a program the way every test here must: output captured, and a guard that, when it fires, kills the process
/// with all its children and fails the test naming the command and the end of its output. Guards are generous:
/// machines here are shared and have been seen four times slower than usual.
/// </summary>
internal static class ChildProcess
{
    public sealed record Result(int ExitCode, string Out, string Error)
    {
        public string Both => Out + Error;
    }

    public static Result Run(string fileName, IEnumerable<string> arguments, TimeSpan guard, string? workingDirectory = null,
                             IReadOnlyDictionary<string, string?>? environment = null)
    {
        var psi = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments) psi.ArgumentList.Add(a);
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        if (environment is not null)
            foreach (var (name, value) in environment)
            {
                if (value is null) psi.Environment.Remove(name);
                else psi.Environment[name] = value;
            }
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(guard))
        {
            KillTree(process);
            string tail = Tail(SafeResult(stdout) + SafeResult(stderr));
            Assert.Fail($"{fileName} {string.Join(' ', psi.ArgumentList)} did not finish in {guard.TotalMinutes:F0} minutes; it and its children were killed. Its output ended with:\n{tail}");
        }
        process.WaitForExit(); // drains the redirected streams
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    public static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(30));
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    private static string SafeResult(Task<string> text) => text.Wait(TimeSpan.FromSeconds(5)) ? text.Result : "";

    private static string Tail(string text) => text.Length <= 4000 ? text : "…" + text[^4000..];
}

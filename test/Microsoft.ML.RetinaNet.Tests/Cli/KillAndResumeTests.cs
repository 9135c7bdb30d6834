using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML.RetinaNet.Datasets;
using Microsoft.ML.RetinaNet.Datasets.Formats;
using Microsoft.ML.RetinaNet.Modeling;
using Microsoft.ML.RetinaNet.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.RetinaNet.Tests.Cli;

/// <summary>
/// A real training process (the CLI, as a child process) killed with SIGKILL at random moments and resumed each time
/// completes; after every kill each checkpoint on disk verifies and loads; and the final model is the one an unbroken
/// run writes, byte for byte.
/// </summary>
[Xunit.Collection(Estimator.BitExactTrainingCollection.Name)]
public sealed class KillAndResumeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-kill-").FullName;
    private readonly ITestOutputHelper _output;

    public KillAndResumeTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string[] TrainArguments(string output, string? checkpoints)
    {
        var args = new List<string>
        {
            "train", "--annotations", Path.Combine(_dir, "train.json"), "--images", Path.Combine(_dir, "images"), "--output", output,
            "--depth", "18", "--image-size", "64", "--epochs", "3", "--batch-size", "2", "--optimizer", "AdamW", "--learning-rate", "0.0005",
            "--warmup-steps", "2", "--seed", "3", "--log-every-n-steps", "1",
        };
        if (checkpoints != null)
            args.AddRange(new[] { "--checkpoints", checkpoints, "--checkpoint-every-n-steps", "1", "--resume" });
        return args.ToArray();
    }

    /// <summary>Starts the CLI; <paramref name="training"/> is set when it logs a training step.</summary>
    private static Process Start(string[] arguments, ManualResetEventSlim training)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(CliTests.CliPath);
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data != null && e.Data.StartsWith("epoch ", StringComparison.Ordinal))
                training.Set();
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    [Fact]
    public void TrainingKilledAtRandomMomentsResumesToTheModelOfAnUnbrokenRun()
    {
        var records = SyntheticShapes.Write(Path.Combine(_dir, "images"), 8, 64, 64, seed: 21, maxObjects: 2);
        CocoFormat.Write(Path.Combine(_dir, "train.json"), records, SyntheticShapes.Classes, Path.Combine(_dir, "images"));

        var straight = CliTests.Run(TrainArguments(Path.Combine(_dir, "straight"), null));
        Assert.True(straight.ExitCode == 0, straight.Error);

        string checkpoints = Path.Combine(_dir, "checkpoints"), output = Path.Combine(_dir, "resumed");
        var random = new Random(5);
        int kills = 0, checkedCheckpoints = 0;
        for (int attempt = 0; attempt < 20; attempt++)
        {
            using var training = new ManualResetEventSlim();
            using var process = Start(TrainArguments(output, checkpoints), training);
            bool kill = kills < 6;
            int delay = random.Next(3000); // after a step's log line: inside its checkpoint write, a later step, or the export
            if (kill && WaitForTraining(process, training) && !process.WaitForExit(delay))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                kills++;
                checkedCheckpoints += CheckEveryCheckpointLoads(checkpoints);
                _output.WriteLine($"killed after {delay} ms; {CheckpointNames(checkpoints)}");
                continue;
            }
            if (!process.WaitForExit(TimeSpan.FromMinutes(20)))
            {
                ChildProcess.KillTree(process);
                Assert.Fail("the resumed training did not finish in 20 minutes; it was killed");
            }
            if (process.ExitCode == 0 && File.Exists(Path.Combine(output, "model.onnx")))
                break;
            Assert.Fail($"attempt {attempt} ended with exit code {process.ExitCode}");
        }
        _output.WriteLine($"{kills} kills, {checkedCheckpoints} checkpoint loads checked");
        Assert.True(kills >= 3, $"only {kills} kills happened before training finished; the run should be long enough to kill");
        Assert.True(File.Exists(Path.Combine(output, "model.onnx")), "training never completed");
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "straight", "model.onnx")), File.ReadAllBytes(Path.Combine(output, "model.onnx")));
        CheckEveryCheckpointLoads(checkpoints);
    }

    /// <summary>True once the process logs training; false if it exits first.</summary>
    private static bool WaitForTraining(Process process, ManualResetEventSlim training)
    {
        var clock = Stopwatch.StartNew();
        while (!training.Wait(20))
        {
            if (process.HasExited) return false;
            if (clock.Elapsed > TimeSpan.FromMinutes(10))
            {
                ChildProcess.KillTree(process);
                Assert.Fail("the tool did not start training in 10 minutes; it was killed");
            }
        }
        return true;
    }

    private static string CheckpointNames(string folder) =>
        Directory.Exists(folder) ? string.Join(", ", Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal)) : "no checkpoint yet";

    /// <summary>Every checkpoint-*.json parses, its files have the recorded length and SHA-256, and its weights load; returns how many.</summary>
    private static int CheckEveryCheckpointLoads(string folder)
    {
        if (!Directory.Exists(folder)) return 0;
        int count = 0;
        foreach (string json in Directory.GetFiles(folder, "checkpoint-*.json"))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(json));
            foreach (string file in new[] { "Weights", "Optimizer" })
            {
                var digest = document.RootElement.GetProperty(file).Deserialize<FileDigest>()!;
                Assert.Null(SafeFile.Verify(Path.Combine(folder, digest.Name), digest));
            }
            var weights = document.RootElement.GetProperty("Weights").Deserialize<FileDigest>()!;
            using var network = new RetinaNetNetwork(new NetworkConfig(SyntheticShapes.Classes.Count, 18));
            network.load(Path.Combine(folder, weights.Name));
            count++;
        }
        Assert.Empty(Directory.GetFiles(folder, "*.damaged"));
        return count;
    }
}

using System.Text.Json;
using Microsoft.ML.RetinaNet.Runtime;
using Microsoft.ML.RetinaNet.Training;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests.Training;

/// <summary>
/// Pruning old checkpoints is a sequence of deletions, and a process can be killed between any two of them. Whatever
/// prefix of the deletions has happened, every checkpoint JSON still on disk must name only files that exist (a CI run
/// once killed the CLI after a prune had deleted <c>step-0000007.weights</c> but not yet <c>checkpoint-0000007.json</c>).
/// </summary>
public sealed class CheckpointPruneTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-prune-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly CheckpointSettings Settings = new(18, "None", "V1", 64, 2, 3, 3, 9, 8, "AdamW");

    private FileDigest Touch(string name)
    {
        File.WriteAllText(Path.Combine(_dir, name), name);
        return new FileDigest(name, name.Length, "");
    }

    private void WriteCheckpoint(int step, FileDigest? best)
    {
        string s = step.ToString("D7");
        var state = new CheckpointState(0, step, 0, step, step * 2, 0, 0, new List<EpochRecord>(),
            Touch($"step-{s}.weights"), Touch($"step-{s}.optimizer"), best, Settings);
        File.WriteAllText(Path.Combine(_dir, $"checkpoint-{s}.json"), JsonSerializer.Serialize(state));
    }

    private static IEnumerable<string> NamedFiles(string json)
    {
        var state = JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(json))!;
        yield return state.Weights.Name;
        yield return state.Optimizer.Name;
        if (state.BestWeights != null) yield return state.BestWeights.Name;
    }

    [Fact]
    public void AKillBetweenAnyTwoDeletionsLeavesEveryRemainingCheckpointComplete()
    {
        var best = Touch("best-0000002.weights");
        for (int step = 1; step <= 6; step++)
            WriteCheckpoint(step, step >= 2 ? best : null);
        Touch("step-0000007.weights");      // an orphan: the kill came before its checkpoint JSON
        Touch("step-0000007.optimizer.tmp"); // and in the middle of the next file
        Touch("best-0000001.weights");       // a best that no kept checkpoint names any more

        var all = Directory.GetFiles(_dir).Select(p => Path.GetFileName(p)).ToHashSet(StringComparer.Ordinal);
        var order = Checkpoints.PruneOrder(_dir).Select(p => Path.GetFileName(p)).ToList();

        for (int done = 0; done <= order.Count; done++)
        {
            var left = all.Except(order.Take(done)).ToHashSet(StringComparer.Ordinal);
            foreach (string json in left.Where(n => n.StartsWith("checkpoint-", StringComparison.Ordinal)))
                foreach (string named in NamedFiles(Path.Combine(_dir, json)))
                    Assert.True(left.Contains(named), $"after {done} deletions ({string.Join(", ", order.Take(done))}) '{json}' names '{named}', which is gone");
        }

        var expectedKept = new[]
        {
            "best-0000002.weights", "checkpoint-0000005.json", "checkpoint-0000006.json",
            "step-0000005.optimizer", "step-0000005.weights", "step-0000006.optimizer", "step-0000006.weights",
        };
        Assert.Equal(expectedKept, all.Except(order).Order(StringComparer.Ordinal));
    }
}

using System.Globalization;
using System.Text.Json;
using Microsoft.ML.RetinaNet.Modeling;
using Microsoft.ML.RetinaNet.Runtime;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Training;

/// <summary>The settings a checkpoint only fits: resuming with another value would not continue the same run.</summary>
internal sealed record CheckpointSettings(int Depth, string Backbone, string Version, int ImageSize, int BatchSize, int Seed, int Classes,
    int AnchorsPerLocation, int TrainingRows, string Optimizer, string AnchorStrides = CheckpointSettings.DefaultStrides)
{
    /// <summary>What a checkpoint written before anchor strides could change holds: torchvision's.</summary>
    public const string DefaultStrides = "8 16 32 64 128";
}

/// <summary>
/// Where training stood: <see cref="CompletedEpochs"/> whole epochs plus <see cref="StepsIntoEpoch"/> steps of the next
/// (with the loss summed over them), and the files that hold the weights, the optimiser state and the best epoch's weights.
/// </summary>
internal sealed record CheckpointState(int CompletedEpochs, int StepsIntoEpoch, double EpochLossSum, int GlobalStep, int ImagesSeen,
    int BestEpoch, int EpochsWithoutImprovement, List<EpochRecord> History, FileDigest Weights, FileDigest Optimizer, FileDigest? BestWeights,
    CheckpointSettings Settings);

/// <summary>
/// Checkpoints: <c>checkpoint-{step}.json</c> names its weights and optimiser files with their lengths and SHA-256, and
/// is written last. Every file goes through <see cref="SafeFile"/> (temporary name, flush, rename), so a kill at any
/// instant leaves the earlier checkpoints intact. The newest two are kept. Resuming takes the newest checkpoint whose
/// files all verify; a truncated or damaged one is reported and the one before it is used.
/// </summary>
internal static class Checkpoints
{
    private const string Prefix = "checkpoint-";
    private const int Kept = 2;
    private const string DamagedSuffix = ".damaged";

    /// <summary>Writes a checkpoint; returns the best weights' file it names (new or carried over).</summary>
    public static FileDigest? Save(string directory, RetinaNetNetwork network, optim.Optimizer optimizer, CheckpointStateDraft draft, bool newBest)
    {
        Directory.CreateDirectory(directory);
        string step = draft.GlobalStep.ToString("D7", CultureInfo.InvariantCulture);
        var weights = SafeFile.Write(Path.Combine(directory, $"step-{step}.weights"), s => network.save(s));
        var optimizerFile = SafeFile.Write(Path.Combine(directory, $"step-{step}.optimizer"), s => { using var writer = new BinaryWriter(s,
            System.Text.Encoding.UTF8, leaveOpen: true); ((TorchSharp.Modules.OptimizerHelper)optimizer).save_state_dict(writer); });
        var best = newBest
            ? SafeFile.Write(Path.Combine(directory, $"best-{step}.weights"), s => network.save(s))
            : draft.PreviousBest;
        var state = draft.Complete(weights, optimizerFile, best);
        SafeFile.Write(Path.Combine(directory, $"{Prefix}{step}.json"), s => JsonSerializer.Serialize(s, state, Json));
        Prune(directory);
        return best;
    }

    /// <summary>
    /// The newest checkpoint in <paramref name="directory"/> whose files verify, loaded into the network and optimiser;
    /// null when there is none. Damaged checkpoints are passed to <paramref name="report"/> and skipped.
    /// </summary>
    public static CheckpointState? Resume(string directory, CheckpointSettings settings, RetinaNetNetwork network, optim.Optimizer optimizer,
        Action<string> report)
    {
        if (!Directory.Exists(directory))
            return null;
        var candidates = Directory.GetFiles(directory, Prefix + "*.json").OrderByDescending(p => p, StringComparer.Ordinal).ToList();
        void SetAside(string path, string why)
        {
            report($"checkpoint '{path}' {why}; it is renamed to {Path.GetFileName(path)}{DamagedSuffix} and the one before it is used");
            File.Move(path, path + DamagedSuffix, overwrite: true);
        }
        foreach (string path in candidates)
        {
            CheckpointState? state;
            try
            {
                state = JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(path), Json);
            }
            catch (Exception e) when (e is JsonException or IOException or NotSupportedException)
            {
                SetAside(path, $"cannot be read ({e.Message})");
                continue;
            }
            if (state?.Weights is null || state.Optimizer is null || state.Settings is null || state.History is null)
            {
                SetAside(path, "is incomplete");
                continue;
            }
            string? problem = SafeFile.Verify(Path.Combine(directory, state.Weights.Name), state.Weights)
                ?? SafeFile.Verify(Path.Combine(directory, state.Optimizer.Name), state.Optimizer)
                ?? (state.BestWeights is null ? null : SafeFile.Verify(Path.Combine(directory, state.BestWeights.Name), state.BestWeights));
            if (problem != null)
            {
                SetAside(path, $"is damaged: {problem}");
                continue;
            }
            CheckSettings(path, state.Settings, settings);
            network.load(Path.Combine(directory, state.Weights.Name));
            ((TorchSharp.Modules.OptimizerHelper)optimizer).load_state_dict(Path.Combine(directory, state.Optimizer.Name));
            return state;
        }
        if (candidates.Count > 0)
            throw new InvalidDataException($"None of the {candidates.Count} checkpoint(s) in '{directory}' is intact (they are renamed to "
                + $"*{DamagedSuffix}), " +
                "so training cannot resume. Delete the folder, or set ResumeFromCheckpoint = false, to start again.");
        return null;
    }

    /// <summary>The best epoch's weights of a checkpoint, as tensors keyed by state_dict name.</summary>
    public static Dictionary<string, Tensor> LoadBest(string directory, CheckpointState state, NetworkConfig config)
    {
        using var scratch = new RetinaNetNetwork(config);
        scratch.load(Path.Combine(directory, state.BestWeights!.Name));
        using var noGrad = no_grad();
        return scratch.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
    }

    private static void CheckSettings(string path, CheckpointSettings saved, CheckpointSettings now)
    {
        if (saved == now)
            return;
        var differences = typeof(CheckpointSettings).GetProperties()
            .Where(p => !Equals(p.GetValue(saved), p.GetValue(now)))
            .Select(p => $"{p.Name} {p.GetValue(saved)} in the checkpoint, {p.GetValue(now)} now");
        throw new InvalidOperationException($"Checkpoint '{path}' belongs to a different run ({string.Join("; ", differences)}). " +
            "Resume with the same options and training data, or point CheckpointDirectory at a new folder.");
    }

    /// <summary>Deletes all but the newest <see cref="Kept"/> checkpoints, files none of them names, and stray temporary files.</summary>
    private static void Prune(string directory)
    {
        foreach (string file in PruneOrder(directory))
            File.Delete(file);
    }

    /// <summary>
    /// The files <see cref="Prune"/> deletes, in the order it deletes them: the dropped checkpoints' JSON files first,
    /// then the files nothing names any more. A kill between two deletions therefore never leaves a checkpoint whose
    /// JSON names a file that is gone (it would be set aside as damaged on resume); at worst it leaves unnamed files,
    /// which the next prune removes.
    /// </summary>
    internal static List<string> PruneOrder(string directory)
    {
        var states = Directory.GetFiles(directory, Prefix + "*.json").OrderByDescending(p => p, StringComparer.Ordinal).ToList();
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (string path in states.Take(Kept))
        {
            keep.Add(Path.GetFileName(path));
            CheckpointState? state;
            try
            {
                state = JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(path), Json);
            }
            catch (JsonException)
            {
                continue; // a damaged one is set aside by Resume
            }
            if (state?.Weights is null || state.Optimizer is null) continue;
            keep.Add(state.Weights.Name);
            keep.Add(state.Optimizer.Name);
            if (state.BestWeights != null) keep.Add(state.BestWeights.Name);
        }
        return Directory.GetFiles(directory)
            .Where(file =>
            {
                string name = Path.GetFileName(file);
                if (name.EndsWith(DamagedSuffix, StringComparison.Ordinal) || keep.Contains(name)) return false;
                return name.StartsWith(Prefix, StringComparison.Ordinal) || name.StartsWith("step-", StringComparison.Ordinal)
                    || name.StartsWith("best-", StringComparison.Ordinal);
            })
            .OrderBy(file => Path.GetFileName(file).StartsWith(Prefix, StringComparison.Ordinal) ? 0 : 1)
            .ThenBy(file => file, StringComparer.Ordinal)
            .ToList();
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
}

/// <summary>A checkpoint's state before its files are written (their digests complete it).</summary>
internal sealed record CheckpointStateDraft(int CompletedEpochs, int StepsIntoEpoch, double EpochLossSum, int GlobalStep, int ImagesSeen,
    int BestEpoch, int EpochsWithoutImprovement, List<EpochRecord> History, FileDigest? PreviousBest, CheckpointSettings Settings)
{
    public CheckpointState Complete(FileDigest weights, FileDigest optimizer, FileDigest? best) =>
        new(CompletedEpochs, StepsIntoEpoch, EpochLossSum, GlobalStep, ImagesSeen, BestEpoch, EpochsWithoutImprovement, History, weights, optimizer,
            best, Settings);
}

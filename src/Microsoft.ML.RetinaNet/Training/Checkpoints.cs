using System.Text.Json;
using Microsoft.ML.RetinaNet.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Training;

/// <summary>Where training stood after an epoch: enough, with the weights and optimiser files, to continue exactly.</summary>
internal sealed record CheckpointState(int Epoch, int GlobalStep, int ImagesSeen, int BestEpoch, int EpochsWithoutImprovement,
    List<EpochRecord> History, string Weights, string Optimizer, string? BestWeights);

/// <summary>
/// Checkpoints after each epoch: the network's weights, the optimiser's state, and <c>checkpoint.json</c> naming them
/// (written last). Every file is written to a temporary name and renamed, so a crash never leaves a half-written file
/// where the previous checkpoint was.
/// </summary>
internal static class Checkpoints
{
    public const string StateFile = "checkpoint.json";

    public static void Save(string directory, RetinaNetNetwork network, optim.Optimizer optimizer, CheckpointState state, bool saveBest)
    {
        Directory.CreateDirectory(directory);
        Atomic(Path.Combine(directory, state.Weights), path => network.save(path));
        Atomic(Path.Combine(directory, state.Optimizer), path => ((TorchSharp.Modules.OptimizerHelper)optimizer).save_state_dict(path));
        if (saveBest && state.BestWeights != null)
            Atomic(Path.Combine(directory, state.BestWeights), path => network.save(path));
        Atomic(Path.Combine(directory, StateFile), path => File.WriteAllText(path, JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true })));
    }

    /// <summary>The last complete checkpoint in <paramref name="directory"/>, loaded into the network and optimiser; null when there is none.</summary>
    public static CheckpointState? Resume(string directory, RetinaNetNetwork network, optim.Optimizer optimizer)
    {
        string statePath = Path.Combine(directory, StateFile);
        if (!File.Exists(statePath))
            return null;
        var state = JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(statePath))
            ?? throw new InvalidDataException($"Checkpoint '{statePath}' is empty.");
        network.load(Path.Combine(directory, state.Weights));
        ((TorchSharp.Modules.OptimizerHelper)optimizer).load_state_dict(Path.Combine(directory, state.Optimizer));
        return state;
    }

    /// <summary>The best epoch's weights of a checkpoint, as tensors keyed by state_dict name.</summary>
    public static Dictionary<string, Tensor> LoadBest(string directory, CheckpointState state, NetworkConfig config)
    {
        using var scratch = new RetinaNetNetwork(config);
        scratch.load(Path.Combine(directory, state.BestWeights!));
        using var noGrad = no_grad();
        return scratch.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
    }

    private static void Atomic(string path, Action<string> write)
    {
        string temp = path + ".tmp";
        write(temp);
        File.Move(temp, path, overwrite: true);
    }
}

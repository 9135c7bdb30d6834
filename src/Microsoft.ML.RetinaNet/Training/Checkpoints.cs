using Microsoft.ML.RetinaNet.Modeling;

namespace Microsoft.ML.RetinaNet.Training;

/// <summary>Weights checkpoints, written to a temporary name and renamed so a crash never leaves a half-written file.</summary>
internal static class Checkpoints
{
    public static string SaveWeights(RetinaNetNetwork network, string directory, int epoch)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, $"epoch-{epoch:D3}.weights");
        string temp = path + ".tmp";
        network.save(temp);
        File.Move(temp, path, overwrite: true);
        return path;
    }
}

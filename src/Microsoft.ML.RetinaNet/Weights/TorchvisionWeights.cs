using System.Collections;
using Microsoft.ML.RetinaNet.Modeling;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Weights;

/// <summary>
/// Loads PyTorch <c>.pth</c> state_dicts saved by torchvision (<c>torch.save(model.state_dict(), path)</c>) into
/// the network, by key. Every key must match in name and shape; otherwise the error lists the missing,
/// unexpected and mismatched keys. <c>num_batches_tracked</c> is ignored (FrozenBatchNorm2d has none).
/// </summary>
internal static class TorchvisionWeights
{
    private const string BodyPrefix = "backbone.body.";
    private const string ClassLogitsPrefix = "head.classification_head.cls_logits.";
    private const int ListedKeys = 12;

    /// <summary>Reads a state_dict into name → tensor (CPU).</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Pretrained weights file '{path}' does not exist. Give the path of a torchvision .pth state_dict.",
                path);
        PthPreflight.Check(path); // nothing unpickles a file that is not a plain state_dict
        Hashtable table;
        try
        {
            table = PyTorchUnpickler.UnpickleStateDict(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"'{path}' is not a readable PyTorch state_dict (.pth saved with torch.save(model.state_dict(), "
                + $"path)): {e.Message}", e);
        }
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in table)
        {
            if (entry.Key is string key && entry.Value is Tensor t)
                result[key] = t;
        }
        if (result.Count == 0)
            throw new InvalidDataException($"'{path}' holds no tensors; expected a state_dict.");
        return result;
    }

    /// <summary>
    /// Loads <paramref name="path"/> into <paramref name="network"/>. With <paramref name="keepClassLogitsOnClassCountChange"/>,
    /// a RetinaNet file trained for another number of classes loads everything but <c>cls_logits</c>, which keeps its
    /// initialisation (fine-tuning COCO weights to new classes).
    /// </summary>
    public static void Load(RetinaNetNetwork network, string path, PretrainedWeightsKind kind = PretrainedWeightsKind.Auto,
        bool keepClassLogitsOnClassCountChange = false,
        Action<string>? warn = null)
    {
        var source = Read(path);
        try
        {
            Load(network, source, path, kind, keepClassLogitsOnClassCountChange, warn);
        }
        finally
        {
            foreach (var t in source.Values) t.Dispose();
        }
    }

    internal static void Load(RetinaNetNetwork network, Dictionary<string, Tensor> source, string path, PretrainedWeightsKind kind,
        bool keepClassLogitsOnClassCountChange,
        Action<string>? warn = null)
    {
        if (kind == PretrainedWeightsKind.Auto)
            kind = Detect(source, path);
        var target = network.state_dict();
        Func<string, string?> map = kind == PretrainedWeightsKind.Backbone
            ? key => key.StartsWith("fc.", StringComparison.Ordinal) ? null : BodyPrefix + key
            : key => key;
        Func<string, bool> expected = kind == PretrainedWeightsKind.Backbone
            ? key => key.StartsWith(BodyPrefix, StringComparison.Ordinal)
            : _ => true;

        var missing = new List<string>();
        var unexpected = new List<string>();
        var mismatched = new List<string>();
        var assignments = new List<(Tensor Target, Tensor Source)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (sourceKey, value) in source)
        {
            if (IsBatchCounter(sourceKey))
                continue;
            string? targetKey = map(sourceKey);
            if (targetKey is null)
                continue;
            if (!target.TryGetValue(targetKey, out var destination) || !expected(targetKey))
            {
                unexpected.Add(sourceKey);
                continue;
            }
            seen.Add(targetKey);
            if (!destination.shape.SequenceEqual(value.shape))
            {
                if (keepClassLogitsOnClassCountChange && targetKey.StartsWith(ClassLogitsPrefix, StringComparison.Ordinal))
                {
                    if (targetKey.EndsWith(".bias", StringComparison.Ordinal))
                    {
                        long anchors = network.Config.AnchorsPerLocation;
                        warn?.Invoke($"'{path}' was trained for {value.shape[0] / anchors} classes and the data has {network.Config.NumClasses}: " +
                            $"the classification layer {ClassLogitsPrefix.TrimEnd('.')} (file {Shape(value)}, model {Shape(destination)}) starts "
                                + $"from a fresh initialisation; every other layer is loaded.");
                    }
                    continue;
                }
                mismatched.Add($"{sourceKey}: file {Shape(value)}, model {Shape(destination)}");
                continue;
            }
            assignments.Add((destination, value));
        }
        foreach (var key in target.Keys)
            if (expected(key) && !IsBatchCounter(key) && !seen.Contains(key))
                missing.Add(kind == PretrainedWeightsKind.Backbone ? key.Substring(BodyPrefix.Length) : key);

        if (missing.Count + unexpected.Count + mismatched.Count > 0)
        {
            string what = kind == PretrainedWeightsKind.Backbone ? "an ImageNet ResNet" : "a torchvision RetinaNet";
            var message = $"The weights in '{path}' do not fit this network (read as {what} state_dict; network "
                + $"ResNet-{network.Config.Depth} {network.Config.Version}, {network.Config.NumClasses} classes)."
                + List("missing from the file", missing) + List("unexpected in the file", unexpected) + List("with another shape", mismatched);
            if (mismatched.Any(m => m.StartsWith(ClassLogitsPrefix, StringComparison.Ordinal)) && mismatched.Count <= 2)
                message += " Only the class count differs: allow a class-count change to keep the new classification layer's initialisation.";
            throw new InvalidDataException(message);
        }

        using var noGrad = no_grad();
        foreach (var (destination, value) in assignments)
            destination.copy_(value.to(destination.dtype, destination.device));
    }

    private static PretrainedWeightsKind Detect(Dictionary<string, Tensor> source, string path)
    {
        if (source.Keys.Any(k => k.StartsWith(BodyPrefix, StringComparison.Ordinal)))
            return PretrainedWeightsKind.RetinaNet;
        if (source.ContainsKey("conv1.weight") && source.Keys.Any(k => k.StartsWith("layer1.", StringComparison.Ordinal)))
            return PretrainedWeightsKind.Backbone;
        throw new InvalidDataException($"'{path}' is neither a torchvision RetinaNet state_dict (keys 'backbone.body.*') nor an ImageNet ResNet one "
            + $"(keys 'conv1.weight', 'layer1.*'). Its first keys: {string.Join(", ", source.Keys.Take(5))}.");
    }

    private static bool IsBatchCounter(string key) => key.EndsWith("num_batches_tracked", StringComparison.Ordinal);

    private static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

    private static string List(string title, List<string> keys) => keys.Count == 0 ? "" :
        $" {keys.Count} key(s) {title}: {string.Join("; ", keys.OrderBy(k => k, StringComparer.Ordinal).Take(ListedKeys))}"
        + $"{(keys.Count > ListedKeys ? $"; … and {keys.Count - ListedKeys} more" : "")}.";
}

using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Datasets;
using Microsoft.ML.RetinaNet.Modeling;
using Microsoft.ML.RetinaNet.Weights;
using Microsoft.ML.Runtime;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Tests.Estimator;

/// <summary>The trainer option PretrainedBackbone = ResNet18: ML.NET's ImageNet network as the backbone, frozen as torchvision freezes it.</summary>
public sealed class PretrainedBackboneTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-pretrained-").FullName;
    private readonly MLContext _ml = new(seed: 1);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static RetinaNetTrainer.Options Options() => new()
    {
        PretrainedBackbone = PretrainedBackbone.ResNet18, ImageSize = 64, BatchSize = 2, Epochs = 1, WarmupSteps = 0,
        Optimizer = RetinaNetOptimizer.AdamW, LearningRate = 1e-3,
    };

    [Fact]
    public void TheNetworkStartsFromThePackagedWeightsWithTorchvisionsFreezing()
    {
        var o = RetinaNetTrainer.Resolve(Options());
        Assert.Equal(18, o.Depth); // the default Depth 50 does not apply to the packaged network
        using var channel = ((IHostEnvironment)_ml).Start("test");
        using var network = RetinaNetTrainer.CreateNetwork(o, 3, channel);
        var (imported, _) = MLNetResNet18.Load(null);
        var state = network.state_dict();
        int compared = 0;
        foreach (var (key, value) in imported)
        {
            Assert.True(state[MLNetResNet18BodyKey(key)].equal(value).all().item<bool>(), $"{key} differs from the imported weights");
            compared++;
        }
        Assert.Equal(imported.Count, compared);
        Assert.Contains("backbone.body.layer4.2.conv2.weight", state.Keys);
        Assert.DoesNotContain(state.Keys, k => k.EndsWith("num_batches_tracked", StringComparison.Ordinal)); // FrozenBatchNorm
        // torchvision's trainable_backbone_layers = 3: layer2–layer4 train, the stem and layer1 do not
        foreach (var (name, p) in network.named_parameters().Where(p => p.name.StartsWith("backbone.body.", StringComparison.Ordinal)))
        {
            bool trains = name.StartsWith("backbone.body.layer2", StringComparison.Ordinal) || name.StartsWith("backbone.body.layer3", StringComparison.Ordinal)
                || name.StartsWith("backbone.body.layer4", StringComparison.Ordinal);
            Assert.True(p.requires_grad == trains, $"{name}: requires_grad {p.requires_grad}");
        }
        foreach (var t in imported.Values) t.Dispose();
    }

    private static string MLNetResNet18BodyKey(string key) => "backbone.body." + key;

    [Fact]
    public void AFitWithThePretrainedBackboneScores()
    {
        var rows = SyntheticShapes.Write(_dir, 4, 64, 64, seed: 2, maxObjects: 2);
        var log = new List<string>();
        _ml.Log += (_, e) => { if (e.Source.StartsWith(nameof(RetinaNetTrainer), StringComparison.Ordinal)) lock (log) log.Add(e.RawMessage); };
        var data = _ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(_ml.Transforms.LoadImages("Image", _dir, nameof(DetectionRecord.ImagePath)))
            .Fit(_ml.Data.LoadFromEnumerable(rows)).Transform(_ml.Data.LoadFromEnumerable(rows));
        using var model = _ml.MulticlassClassification.Trainers.RetinaNet(Options()).Fit(data);
        var scores = model.Transform(data).GetColumn<float[]>("Score").ToList();
        Assert.Equal(4, scores.Count);
        Assert.Contains(log, m => m.Contains("backbone: ML.NET's ImageNet ResNet-18", StringComparison.Ordinal));
        Assert.Contains(log, m => m.Contains("pretrained ResNet18 V1, 64×64", StringComparison.Ordinal));
    }

    [Fact]
    public void BothBackboneSourcesAtOnceAreRefused()
    {
        var options = Options();
        options.PretrainedWeightsPath = "resnet18.pth";
        var error = Assert.Throws<ArgumentException>(() => RetinaNetTrainer.Resolve(options));
        Assert.Contains("PretrainedBackbone (ResNet18) and PretrainedWeightsPath ('resnet18.pth')", error.Message);
    }

    [Fact]
    public void AMissingModelsFolderNamesThePackage()
    {
        var rows = SyntheticShapes.Write(_dir, 2, 64, 64, seed: 2, maxObjects: 1);
        var data = _ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(_ml.Transforms.LoadImages("Image", _dir, nameof(DetectionRecord.ImagePath)))
            .Fit(_ml.Data.LoadFromEnumerable(rows)).Transform(_ml.Data.LoadFromEnumerable(rows));
        var options = Options();
        options.DnnImageModelsDirectory = Path.Combine(_dir, "nowhere");
        var error = Assert.Throws<FileNotFoundException>(() => _ml.MulticlassClassification.Trainers.RetinaNet(options).Fit(data));
        Assert.Contains("Microsoft.ML.DnnImageFeaturizer.ResNet18", error.Message);
        Assert.Contains(Path.Combine(_dir, "nowhere", "ResNet18Onnx", "ResNet18.onnx"), error.Message);
    }
}

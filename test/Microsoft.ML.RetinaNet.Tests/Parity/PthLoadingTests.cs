using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Modeling;
using Microsoft.ML.RetinaNet.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Tests.Parity;

/// <summary>torchvision .pth files written by torch.save load into the network key by key.</summary>
public sealed class PthLoadingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-pth-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void AssertHoldsDeterministicWeights(nn.Module network, Func<string, bool> which, string fileKeyPrefix = "")
    {
        int checkedCount = 0;
        foreach (var (name, t) in network.state_dict())
        {
            if (!which(name) || name.EndsWith("num_batches_tracked", StringComparison.Ordinal) || name.EndsWith("cls_logits.bias", StringComparison.Ordinal))
                continue;
            using var expected = tensor(DeterministicWeights.ForParameter(name.Substring(fileKeyPrefix.Length), t.shape), t.shape);
            Assert.True(t.equal(expected).all().item<bool>(), $"{name} differs from the file's values");
            checkedCount++;
        }
        Assert.True(checkedCount > 50, $"only {checkedCount} tensors were compared");
    }

    [Fact]
    public void AFullTorchvisionRetinaNetStateDictLoads()
    {
        string path = Path.Combine(_dir, "retinanet_r18_v2.pth");
        TorchvisionScript.Run("--pth", path, "--config", "r18_v2");
        using var network = new RetinaNetNetwork(new NetworkConfig(3, 18, RetinaNetVersion.V2));
        TorchvisionWeights.Load(network, path);
        AssertHoldsDeterministicWeights(network, _ => true);
        // the prior-probability bias came from torchvision's initialisation in the file
        var bias = network.state_dict()["head.classification_head.cls_logits.bias"];
        Assert.Equal(-Math.Log(99), bias[0].item<float>(), 5);
    }

    [Fact]
    public void ATorchvisionPthBecomesAFittedTransformerWithoutTraining()
    {
        string path = Path.Combine(_dir, "retinanet_r18_v2.pth");
        TorchvisionScript.Run("--pth", path, "--config", "r18_v2"); // 3 classes
        var ml = new MLContext(seed: 1);
        var options = new RetinaNetTrainer.Options { Depth = 18, Version = RetinaNetVersion.V2, ImageSize = 128, ScoreThreshold = 0 };
        using var model = ml.MulticlassClassification.Trainers.RetinaNetFromTorchvision(path, new[] { "a", "b", "c" }, options);
        AssertHoldsDeterministicWeights(model.Model.Network, _ => true);
        Assert.Equal(new[] { "a", "b", "c" }, model.ClassNames);
        Assert.Empty(model.History);

        // it scores through the ONNX chain like a trained model, and saves and loads
        string images = Path.Combine(_dir, "images");
        var rows = Microsoft.ML.RetinaNet.Datasets.SyntheticShapes.Write(images, 2, 96, 80, seed: 4);
        var data = ml.Transforms.LoadImages("Image", images, "ImagePath").Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
        var scores = model.Transform(data).GetColumn<float[]>("Score").ToList();
        Assert.Equal(2, scores.Count);
        Assert.All(scores, s => Assert.NotEmpty(s)); // score threshold 0: the deterministic weights give candidates
        string zip = Path.Combine(_dir, "model.zip");
        ml.Model.Save(model, data.Schema, zip);
        var loaded = new MLContext().Model.LoadRetinaNet(zip, out _);
        Assert.Equal(scores, loaded.Transform(data).GetColumn<float[]>("Score").ToList());

        // the class names must match the file's classification layer
        var error = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.RetinaNetFromTorchvision(path, new[] { "a", "b" }, options));
        Assert.Contains("has a classification layer for 3 classes (27 outputs, 9 anchors per location) but 2 class names were given", error.Message);
        // and the network described by the options must be the file's
        var wrong = Assert.Throws<InvalidDataException>(() => ml.MulticlassClassification.Trainers.RetinaNetFromTorchvision(path, new[] { "a", "b", "c" },
            new RetinaNetTrainer.Options { Depth = 18, Version = RetinaNetVersion.V1, ImageSize = 128 }));
        Assert.Contains("do not fit this network", wrong.Message);
    }

    [Fact]
    public void TheImportVerbWritesAModelThatScores()
    {
        string path = Path.Combine(_dir, "retinanet_r18_v2.pth");
        TorchvisionScript.Run("--pth", path, "--config", "r18_v2");
        string classes = Path.Combine(_dir, "classes.txt");
        File.WriteAllLines(classes, new[] { "square", "disc", "bar" });
        string output = Path.Combine(_dir, "imported");
        var import = Cli.CliTests.Run("import", "--pth", path, "--classes", classes, "--depth", "18", "--version", "V2", "--image-size", "128",
            "--score-threshold", "0", "--output", output);
        Assert.True(import.ExitCode == 0, import.Out + import.Error);
        Assert.Contains("ResNet-18 V2, 3 classes, 128×128", import.Out);
        string images = Path.Combine(_dir, "images");
        Microsoft.ML.RetinaNet.Datasets.SyntheticShapes.Write(images, 2, 96, 80, seed: 4);
        string json = Path.Combine(_dir, "detections.json");
        var score = Cli.CliTests.Run("score", "--model", Path.Combine(output, "model.zip"), "--images", images, "--output", json);
        Assert.True(score.ExitCode == 0, score.Out + score.Error);
        Assert.Contains("2 images scored", score.Out);
        Assert.True(new FileInfo(Path.Combine(output, "model.onnx")).Length > 1_000_000);
    }

    [Fact]
    public void AnImageNetResNetStateDictLoadsIntoTheBackboneOnly()
    {
        string path = Path.Combine(_dir, "resnet18.pth");
        TorchvisionScript.Run("--backbone-pth", path, "--depth", "18");
        using var network = new RetinaNetNetwork(new NetworkConfig(4, 18, RetinaNetVersion.V1, BackboneNorm.FrozenBatchNorm));
        var headBefore = network.state_dict()["head.regression_head.bbox_reg.weight"].clone();
        TorchvisionWeights.Load(network, path);
        AssertHoldsDeterministicWeights(network, name => name.StartsWith("backbone.body.", StringComparison.Ordinal), fileKeyPrefix: "backbone.body.");
        Assert.True(network.state_dict()["head.regression_head.bbox_reg.weight"].equal(headBefore).all().item<bool>(), "the head must keep its initialisation");
    }

    [Fact]
    public void AFileForAnotherNetworkIsRefusedWithTheKeysListed()
    {
        string path = Path.Combine(_dir, "retinanet_r18_v2.pth");
        TorchvisionScript.Run("--pth", path, "--config", "r18_v2");
        using var network = new RetinaNetNetwork(new NetworkConfig(3, 18, RetinaNetVersion.V1)); // v1 heads have conv biases, no GroupNorm
        var error = Assert.Throws<InvalidDataException>(() => TorchvisionWeights.Load(network, path));
        Assert.Contains("missing from the file", error.Message);
        Assert.Contains("head.classification_head.conv.0.0.bias", error.Message);
        Assert.Contains("unexpected in the file", error.Message);
        Assert.Contains("head.classification_head.conv.0.1.weight", error.Message);
    }

    [Fact]
    public void AClassCountChangeIsReportedAndCanKeepTheNewClassifier()
    {
        string path = Path.Combine(_dir, "retinanet_r18_v2.pth");
        TorchvisionScript.Run("--pth", path, "--config", "r18_v2");
        using var network = new RetinaNetNetwork(new NetworkConfig(7, 18, RetinaNetVersion.V2));
        var error = Assert.Throws<InvalidDataException>(() => TorchvisionWeights.Load(network, path));
        Assert.Contains("head.classification_head.cls_logits.weight: file [27, 256, 3, 3], model [63, 256, 3, 3]", error.Message);
        Assert.Contains("Only the class count differs", error.Message);

        var warnings = new List<string>();
        TorchvisionWeights.Load(network, path, keepClassLogitsOnClassCountChange: true, warn: warnings.Add);
        AssertHoldsDeterministicWeights(network, name => !name.Contains("cls_logits", StringComparison.Ordinal));
        // said once, naming both class counts and the layer (the file has 3 classes × 9 anchors = 27 outputs)
        Assert.Equal(new[] { "'" + path + "' was trained for 3 classes and the data has 7: the classification layer head.classification_head.cls_logits " +
            "(file [27], model [63]) starts from a fresh initialisation; every other layer is loaded." }, warnings);
    }

    [Fact]
    public void AMissingOrForeignFileGetsAClearError()
    {
        using var network = new RetinaNetNetwork(new NetworkConfig(3, 18));
        var missing = Assert.Throws<FileNotFoundException>(() => TorchvisionWeights.Load(network, Path.Combine(_dir, "nope.pth")));
        Assert.Contains("nope.pth", missing.Message);

        string junk = Path.Combine(_dir, "junk.pth");
        File.WriteAllText(junk, "this is not a zip file");
        var bad = Assert.Throws<InvalidDataException>(() => TorchvisionWeights.Load(network, junk));
        Assert.Contains("not a readable PyTorch state_dict", bad.Message);
    }
}

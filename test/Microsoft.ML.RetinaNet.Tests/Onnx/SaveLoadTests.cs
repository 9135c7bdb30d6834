using System.Text.Json;
using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Datasets;
using Microsoft.ML.RetinaNet.Scoring;
using Microsoft.ML.RetinaNet.Tests.Estimator;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.RetinaNet.Tests.Onnx;

/// <summary>The fitted model round-trips through mlContext.Model.Save/Load, in this process and in a new one.</summary>
[Collection(TrainedShapesCollection.Name)]
public sealed class SaveLoadTests : IDisposable
{
    private readonly TrainedShapesFixture _trained;
    private readonly ITestOutputHelper _output;
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-save-").FullName;

    public SaveLoadTests(TrainedShapesFixture trained, ITestOutputHelper output)
    {
        _trained = trained;
        _output = output;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<DetectionOutput> Score(MLContext ml, ITransformer model, IDataView data) =>
        ml.Data.CreateEnumerable<DetectionOutput>(model.Transform(data), reuseRowObject: false).ToList();

    private string SaveWholePipeline()
    {
        string path = Path.Combine(_dir, "model.zip");
        _trained.Ml.Model.Save(_trained.Model, _trained.Data.Schema, path);
        return path;
    }

    [Fact]
    public void AFreshContextLoadsTheModelAndPredictsTheSame()
    {
        string path = SaveWholePipeline();
        _output.WriteLine($"model.zip: {new FileInfo(path).Length / 1e6:F1} MB");
        var expected = Score(_trained.Ml, _trained.Model, _trained.Data);

        var ml = new MLContext(seed: 5);
        var loaded = ml.Model.LoadRetinaNet(path, out var schema);
        Assert.NotNull(schema.GetColumnOrNull(nameof(DetectionRecord.ImagePath)));
        var actual = Score(ml, loaded, ml.Data.LoadFromEnumerable(_trained.Rows));
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].PredictedLabel, actual[i].PredictedLabel);
            Assert.Equal(expected[i].Score, actual[i].Score);
            Assert.Equal(expected[i].PredictedBoundingBoxes, actual[i].PredictedBoundingBoxes);
        }
        var label = loaded.Transform(ml.Data.LoadFromEnumerable(_trained.Rows)).Schema["PredictedLabel"];
        VBuffer<ReadOnlyMemory<char>> names = default;
        label.GetKeyValues(ref names);
        Assert.Equal(_trained.Rows.SelectMany(r => r.Label).Distinct(), names.DenseValues().Select(n => n.ToString()));
    }

    [Fact]
    public void ALoadedModelBuildsItsSessionWithTheFittedTransformersOptions()
    {
        // ML.NET saves ApplyOnnxModel without thread counts; a loaded model used ONNX Runtime's default (1 thread here)
        string path = SaveWholePipeline();
        foreach (bool plainLoad in new[] { false, true })
        {
            var ml = new MLContext(seed: 5);
            int before = ScoringSessionOptions.SessionsCreatedOnThisThread;
            ITransformer loaded;
            if (plainLoad)
            {
                ml.RegisterRetinaNet();
                loaded = ml.Model.Load(path, out _);
            }
            else
            {
                loaded = ml.Model.LoadRetinaNet(path, out _);
            }
            Assert.Equal(before + 1, ScoringSessionOptions.SessionsCreatedOnThisThread); // ML.NET's loader built its session with them
            Assert.Equal((Environment.ProcessorCount, false), ScoringSessionOptions.LastOnThisThread);
            Assert.Equal(Environment.ProcessorCount, Microsoft.ML.Transforms.Onnx.OnnxSessionOptionsExtensions.GetOnnxSessionOption(ml).IntraOpNumThreads);
            Assert.NotEmpty(Score(ml, loaded, ml.Data.LoadFromEnumerable(_trained.Rows.Take(1))));
        }

        // the fitted transformer's session is built the same way
        var fresh = new MLContext(seed: 1);
        int fitted = ScoringSessionOptions.SessionsCreatedOnThisThread;
        var model = fresh.Transforms.Conversion.MapValueToKey("Label")
            .Append(fresh.Transforms.LoadImages("Image", _trained.Directory, nameof(DetectionRecord.ImagePath)))
            .Append(fresh.MulticlassClassification.Trainers.RetinaNet(new RetinaNetTrainer.Options { Depth = 18, ImageSize = 64, Epochs = 1, BatchSize = 4 }))
            .Fit(fresh.Data.LoadFromEnumerable(_trained.Rows.Take(4)));
        Assert.True(ScoringSessionOptions.SessionsCreatedOnThisThread > fitted);
        Assert.Equal((Environment.ProcessorCount, false), ScoringSessionOptions.LastOnThisThread);

        // options the user set on the context are theirs to keep
        var own = new MLContext();
        var mine = new Microsoft.ML.Transforms.Onnx.OnnxSessionOptions { IntraOpNumThreads = 1 };
        Microsoft.ML.Transforms.Onnx.OnnxSessionOptionsExtensions.SetOnnxSessionOption(own, mine);
        own.RegisterRetinaNet();
        Assert.Same(mine, Microsoft.ML.Transforms.Onnx.OnnxSessionOptionsExtensions.GetOnnxSessionOption(own));
    }

    [Fact]
    public void ANewProcessLoadsTheModelAndPredictsTheSame()
    {
        // save LoadImages → RetinaNet (the label mapping is not needed to score), run the CLI's score verb in a child process
        var parts = ((IEnumerable<ITransformer>)_trained.Model).ToArray();
        var scoring = new TransformerChain<ITransformer>(parts[1], parts[2]);
        string path = Path.Combine(_dir, "scoring.zip");
        _trained.Ml.Model.Save(scoring, parts[0].Transform(_trained.Data).Schema, path);
        string images = Path.Combine(_dir, "images");
        Directory.CreateDirectory(images);
        foreach (var row in _trained.Rows)
            File.Copy(Path.Combine(_trained.Directory, row.ImagePath), Path.Combine(images, row.ImagePath));
        string json = Path.Combine(_dir, "detections.json");

        Assert.True(File.Exists(Cli.CliTests.CliPath), $"the command-line tool should be built at {Cli.CliTests.CliPath}");
        var (exitCode, stdout, stderr) = Cli.CliTests.Run("score", "--model", path, "--images", images, "--output", json);
        Assert.True(exitCode == 0, stdout + stderr);
        _output.WriteLine(stdout);

        var expected = Score(_trained.Ml, _trained.Model, _trained.Data);
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var byFile = document.RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("file").GetString()!);
        var classNames = _trained.Rows.SelectMany(r => r.Label).Distinct().ToArray();
        for (int i = 0; i < _trained.Rows.Count; i++)
        {
            var e = byFile[_trained.Rows[i].ImagePath];
            Assert.Equal(expected[i].Score, e.GetProperty("scores").EnumerateArray().Select(v => v.GetSingle()));
            Assert.Equal(expected[i].PredictedBoundingBoxes, e.GetProperty("boxes").EnumerateArray().Select(v => v.GetSingle()));
            Assert.Equal(expected[i].PredictedLabel.Select(k => classNames[k - 1]), e.GetProperty("labels").EnumerateArray().Select(v => v.GetString()));
        }
    }

    [Fact]
    public void TheExportedFileRunsInPlainOnnxRuntime()
    {
        var retinaNet = ((IEnumerable<ITransformer>)_trained.Model).OfType<RetinaNetTransformer>().Single();
        string onnx = Path.Combine(_dir, "retinanet.onnx");
        retinaNet.ExportToOnnx(onnx);
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(onnx);
        Assert.Equal(new[] { "images", "image_sizes" }, session.InputMetadata.Keys);
        Assert.Equal(new[] { "boxes", "scores", "labels", "count" }, session.OutputMetadata.Keys);
        Assert.Equal(new[] { -1, 3, 128, 128 }, session.InputMetadata["images"].Dimensions);

        // the input as ML.NET's IsoPad resize and ExtractPixels make it, for the first training image
        var ml = _trained.Ml;
        var pixels = ml.Transforms.LoadImages("Image", _trained.Directory, nameof(DetectionRecord.ImagePath))
            .Append(ml.Transforms.ResizeImages("Resized", 128, 128, "Image", Microsoft.ML.Transforms.Image.ImageResizingEstimator.ResizingKind.IsoPad))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Resized", interleavePixelColors: false))
            .Fit(_trained.Data).Transform(_trained.Data).GetColumn<float[]>("Pixels").First();
        var inputs = new[]
        {
            Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("images", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(pixels, new[] { 1, 3, 128, 128 })),
            Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("image_sizes", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(new float[] { 128, 128 }, new[] { 1, 2 })),
        };
        using var results = session.Run(inputs);
        long count = results.Single(r => r.Name == "count").AsTensor<long>()[0];
        var scores = results.Single(r => r.Name == "scores").AsEnumerable<float>().Take((int)count);
        var expected = Score(_trained.Ml, _trained.Model, _trained.Data)[0];
        Assert.Equal(expected.Score, scores);
    }

    [Theory]
    [InlineData("flipped byte", 0.5)]
    [InlineData("flipped byte", 0.25)]
    [InlineData("flipped byte", 0.9)]
    [InlineData("truncated", 0.5)]
    public void ADamagedModelFileGetsAClearError(string damage, double where)
    {
        string path = SaveWholePipeline();
        var bytes = File.ReadAllBytes(path);
        int at = (int)(bytes.Length * where);
        if (damage == "truncated")
            bytes = bytes.AsSpan(0, at).ToArray();
        else
            bytes[at] ^= 0x5A; // most of the file is the compressed ONNX graph
        string damaged = Path.Combine(_dir, "damaged.zip");
        File.WriteAllBytes(damaged, bytes);
        var error = Assert.Throws<InvalidDataException>(() => new MLContext().Model.LoadRetinaNet(damaged, out _));
        _output.WriteLine(error.Message);
        Assert.Contains("damaged.zip", error.Message);
        Assert.Contains("damaged or truncated", error.Message);
    }
}

using System.Text;
using CsCheck;
using Microsoft.ML.RetinaNet.Datasets;
using Microsoft.ML.RetinaNet.Onnx;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.RetinaNet.Tests.Fuzzing;

/// <summary>
/// Random mutations of the files the library reads besides datasets: ONNX models (the reader that imports ML.NET's
/// ResNet-18 and that the int8 path parses; the renamer that rewrites our graphs) and COCO results files (<c>evaluate
/// --results</c>). Each is read or rejected with the documented exception naming the file; never another exception, a
/// hang (5 s per case) or more than 64 MB allocated for a file of a few hundred bytes. The <c>.pth</c> reader has its own
/// class (<see cref="PthFuzzTests"/>).
/// </summary>
public sealed class ModelReaderFuzzTests : IDisposable
{
    private const long Cases = 600;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private const long MaxAllocated = 64L << 20;

    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-fuzz-models-").FullName;
    private readonly ITestOutputHelper _output;
    private int _accepted, _rejected;

    public ModelReaderFuzzTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Case(string name)
    {
        string dir = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }

    private void Count(FuzzOutcome outcome)
    {
        if (outcome == FuzzOutcome.Accepted) Interlocked.Increment(ref _accepted);
        else Interlocked.Increment(ref _rejected);
    }

    private void Report(string what, string exception)
    {
        _output.WriteLine($"{what}: {_accepted + _rejected} mutated files, {_accepted} read, {_rejected} rejected with {exception}");
        Assert.Equal(Cases, _accepted + _rejected);
        Assert.True(_rejected > Cases / 10, "the mutations should break many files"); // the fuzzer reaches the error paths
    }

    /// <summary>A small valid ONNX model: Conv (2 filters, with bias) → Relu → Add of a constant, with an int64 initializer too.</summary>
    internal static byte[] SmallOnnxModel()
    {
        var g = new OnnxGraph();
        g.Input("x", OnnxType.Float, "N", 1, 4, 4);
        var w = g.Initializer("w", new float[] { 1, 0, 0, 1, 0.5f, -0.5f, 0.25f, 0 }, 2, 1, 2, 2);
        var b = g.Initializer("b", new float[] { 0.1f, -0.1f }, 2);
        var conv = g.Node("Conv", new[] { "x", w, b }, ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 1, 1 }));
        var relu = g.Node("Relu", new[] { conv });
        var sum = g.Node("Add", new[] { relu, g.Floats(new[] { 1f }) });
        g.Node("Reshape", new[] { sum, g.Ints(0, -1) });
        g.Identity(sum, "y");
        g.Output("y", OnnxType.Float, "N", 2, 3, 3);
        using var stream = new MemoryStream();
        g.WriteModel(stream, "fuzz", "1", new Dictionary<string, string> { ["note"] = "fuzz seed" });
        return stream.ToArray();
    }

    [Fact]
    public void MutatedOnnxModels()
    {
        var seed = SmallOnnxModel();
        Assert.NotEmpty(OnnxModelReader.Read(seed).Nodes); // the seed itself reads
        Mutations.Of(seed).Sample(m =>
        {
            string path = Case("model.onnx");
            File.WriteAllBytes(path, m.Bytes);
            Count(BoundedRun.Check<InvalidDataException>(() =>
            {
                try
                {
                    var model = OnnxModelReader.Read(path);
                    Assert.All(model.Constants.Values, t => Assert.Equal(t.Dims.Aggregate(1L, (a, d) => a * d), t.Data.Length));
                }
                catch (InvalidDataException e)
                {
                    Assert.Contains(path, e.Message); // names the file
                    throw;
                }
                // the renamer rewrites every graph it can read
                OnnxRenamer.Rename(File.ReadAllBytes(path), new Dictionary<string, string> { ["x"] = "images", ["y"] = "scores" });
            }, $"ONNX after {m.Edits}", Timeout, MaxAllocated));
        }, iter: Cases);
        Report("ONNX", nameof(InvalidDataException));
    }

    private const string GroundTruth = """
        {"images": [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "b.png"}],
         "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [1.5, 2, 10, 20], "iscrowd": 0, "area": 200},
                         {"id": 2, "image_id": 2, "category_id": 5, "bbox": [30, 4, 8, 8], "iscrowd": 1}],
         "categories": [{"id": 3, "name": "cat"}, {"id": 5, "name": "dog"}]}
        """;

    private const string Results = """
        [{"image_id": 1, "category_id": 3, "bbox": [1.5, 2, 10, 19], "score": 0.9},
         {"image_id": 1, "category_id": 5, "bbox": [0, 0, 4, 4], "score": 0.3},
         {"image_id": 2, "category_id": 5, "bbox": [30, 4, 8, 9], "score": 0.75}]
        """;

    [Fact]
    public void MutatedCocoResultsFiles()
    {
        var ml = new MLContext(seed: 1);
        string gt = Path.Combine(_dir, "gt.json");
        File.WriteAllText(gt, GroundTruth);
        Assert.True(ml.MulticlassClassification.EvaluateCocoResults(gt, WriteResults(Encoding.UTF8.GetBytes(Results))).AveragePrecision50 > 0);
        Gen.Select(Mutations.Of(Encoding.UTF8.GetBytes(Results)), Mutations.Of(Encoding.UTF8.GetBytes(GroundTruth)), Gen.Int[0, 3]).Sample(t =>
        {
            var (results, truth, which) = t;
            // 0–2: mutated results against the valid ground truth; 3: valid results against a mutated ground truth
            string resultsPath = WriteResults(which == 3 ? Encoding.UTF8.GetBytes(Results) : results.Bytes);
            string gtPath = gt;
            if (which == 3)
            {
                gtPath = Case("gt.json");
                File.WriteAllBytes(gtPath, truth.Bytes);
            }
            string edits = which == 3 ? $"ground truth after {truth.Edits}" : $"results after {results.Edits}";
            Count(BoundedRun.Check<DatasetFormatException>(() =>
            {
                try
                {
                    var m = ml.MulticlassClassification.EvaluateCocoResults(gtPath, resultsPath);
                    Assert.True(m.MeanAveragePrecision is >= 0 and <= 1 || double.IsNaN(m.MeanAveragePrecision) || m.MeanAveragePrecision == -1,
                        $"mAP {m.MeanAveragePrecision}");
                }
                catch (DatasetFormatException e)
                {
                    Assert.True(e.Message.Contains(resultsPath, StringComparison.Ordinal) || e.Message.Contains(gtPath, StringComparison.Ordinal),
                        e.Message);
                    throw;
                }
            }, edits, Timeout, MaxAllocated));
        }, iter: Cases);
        Report("COCO results", nameof(DatasetFormatException));
    }

    private string WriteResults(byte[] bytes)
    {
        string path = Case("results.json");
        File.WriteAllBytes(path, bytes);
        return path;
    }
}

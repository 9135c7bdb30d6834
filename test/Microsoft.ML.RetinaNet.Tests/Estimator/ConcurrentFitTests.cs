using Microsoft.ML.RetinaNet.Datasets;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.RetinaNet.Tests.Estimator;

/// <summary>
/// Two fits running at the same time in one process (parallel test classes, an experiment's parallel trials) each end
/// with the weights they end with alone, bit for bit. Each fit's weight initialisation has its own generator, its
/// data order and augmentation their own seeded streams, and its tensor operations run on its own thread; a third thread
/// drawing from TorchSharp's global generator meanwhile changes nothing either.
/// </summary>
[Xunit.Collection(BitExactTrainingCollection.Name)]
public sealed class ConcurrentFitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-concurrent-").FullName;
    private readonly ITestOutputHelper _output;
    private readonly MLContext _ml = new(seed: 1);
    private readonly IDataView _data;

    public ConcurrentFitTests(ITestOutputHelper output)
    {
        _output = output;
        var rows = SyntheticShapes.Write(Path.Combine(_dir, "images"), 8, 96, 96, seed: 5);
        var raw = _ml.Data.LoadFromEnumerable(rows);
        _data = _ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(_ml.Transforms.LoadImages("Image", Path.Combine(_dir, "images"), nameof(DetectionRecord.ImagePath)))
            .Fit(raw).Transform(raw);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private RetinaNetTrainer.Options Options(int seed) => new()
    {
        Depth = 18, ImageSize = 96, BatchSize = 4, Epochs = 2, Optimizer = RetinaNetOptimizer.AdamW, LearningRate = 5e-4, WarmupSteps = 2,
        Seed = seed, ScaleJitterMin = 0.8, ScaleJitterMax = 1.2,
    };

    private Dictionary<string, float[]> Fit(int seed)
    {
        using var model = _ml.MulticlassClassification.Trainers.RetinaNet(Options(seed)).Fit(_data);
        return model.Model.Network.state_dict().ToDictionary(p => p.Key, p
            => p.Value.to(TorchSharp.torch.ScalarType.Float32).data<float>().ToArray());
    }

    private static int DifferentParameters(Dictionary<string, float[]> a, Dictionary<string, float[]> b) =>
        a.Count(p => !p.Value.AsSpan().SequenceEqual(b[p.Key]));

    [Fact]
    public async Task TwoConcurrentFitsEachEqualTheirRunAlone()
    {
        var aloneA = Fit(seed: 11);
        var aloneB = Fit(seed: 12);
        Assert.NotEqual(0, DifferentParameters(aloneA, aloneB)); // the two seeds give different networks

        using var stop = new CancellationTokenSource();
        // Something else in the process drawing from TorchSharp's global generator all the while.
        var noise = Task.Run(() =>
        {
            int draws = 0;
            while (!stop.IsCancellationRequested)
            {
                TorchSharp.torch.manual_seed(draws++);
                using var r = TorchSharp.torch.rand(1000);
                Thread.Sleep(5);
            }
            return draws;
        });
        using var start = new Barrier(2);
        var together = new[] { 11, 12 }.Select(seed => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            return Fit(seed);
        }, TaskCreationOptions.LongRunning)).ToArray();
        var results = await Task.WhenAll(together).WaitAsync(TimeSpan.FromMinutes(20)); // about 20 s each here
        stop.Cancel();
        _output.WriteLine($"global-generator draws meanwhile: {await noise}");
        Assert.Equal(0, DifferentParameters(aloneA, results[0]));
        Assert.Equal(0, DifferentParameters(aloneB, results[1]));
    }
}

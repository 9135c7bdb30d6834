using CsCheck;
using Microsoft.ML.RetinaNet.Tests.Estimator;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.RetinaNet.Tests.Fuzzing;

/// <summary>
/// Random mutations of a saved model.zip: <c>LoadRetinaNet</c> either loads it or throws <see cref="InvalidDataException"/>
/// naming the file; never another exception, never a hang, never more than three times what loading the intact file
/// allocates. Mutations land in the zip's head (local headers), its tail (central directory) or anywhere.
/// </summary>
[Collection(TrainedShapesCollection.Name)]
public sealed class ModelFileFuzzTests : IDisposable
{
    private const long Cases = 30;
    private readonly TrainedShapesFixture _trained;
    private readonly ITestOutputHelper _output;
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-modelfuzz-").FullName;

    public ModelFileFuzzTests(TrainedShapesFixture trained, ITestOutputHelper output)
    {
        _trained = trained;
        _output = output;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void Load(string path)
    {
        var model = new MLContext().Model.LoadRetinaNet(path, out _);
        (model as IDisposable)?.Dispose();
    }

    [Fact]
    public void MutatedModelFiles()
    {
        string valid = Path.Combine(_dir, "model.zip");
        _trained.Ml.Model.Save(_trained.Model, _trained.Data.Schema, valid);
        var bytes = File.ReadAllBytes(valid);
        long intactAllocation = 0;
        var thread = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Load(valid);
            intactAllocation = GC.GetAllocatedBytesForCurrentThread() - before;
        });
        thread.Start();
        thread.Join();
        long bound = 3 * intactAllocation + (64L << 20);

        int head = Math.Min(4096, bytes.Length), tail = Math.Min(65536, bytes.Length);
        int accepted = 0, rejected = 0;
        var regions = new[] { "head", "tail", "anywhere" };
        var headBytes = bytes.AsSpan(0, head).ToArray();
        var tailBytes = bytes.AsSpan(bytes.Length - tail).ToArray();
        var cases =
            from region in Gen.Int[0, 2]
            from m in Mutations.Of(region switch { 0 => headBytes, 1 => tailBytes, _ => bytes })
            select (Region: region, Bytes: region switch
            {
                0 => [.. m.Bytes, .. bytes.AsSpan(head)],
                1 => [.. bytes.AsSpan(0, bytes.Length - tail), .. m.Bytes],
                _ => m.Bytes,
            }, m.Edits);
        cases.Sample(t =>
            {
                var (region, mutated, edits) = t;
                string path = Path.Combine(_dir, $"mutated-{Guid.NewGuid():N}.zip");
                File.WriteAllBytes(path, mutated);
                string what = $"model.zip, {regions[region]}: {edits}";
                var outcome = BoundedRun.Check<InvalidDataException>(() =>
                {
                    try
                    {
                        Load(path);
                    }
                    catch (InvalidDataException e)
                    {
                        Assert.Contains(Path.GetFileName(path), e.Message); // names the file
                        throw;
                    }
                }, what, TimeSpan.FromSeconds(60), bound);
                if (outcome == FuzzOutcome.Accepted) Interlocked.Increment(ref accepted);
                else Interlocked.Increment(ref rejected);
                File.Delete(path);
            }, iter: Cases, threads: 1);

        _output.WriteLine($"model.zip ({bytes.Length / 1e6:F1} MB, loading allocates {intactAllocation / 1e6:F0} MB): {accepted + rejected} mutated files, {accepted} loaded, {rejected} rejected with InvalidDataException");
        Assert.Equal(Cases, accepted + rejected);
        Assert.True(rejected > 0);
    }
}

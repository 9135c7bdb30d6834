using CsCheck;
using Microsoft.ML.RetinaNet.Weights;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.RetinaNet.Tests.Fuzzing;

/// <summary>
/// The <c>.pth</c> reader against hostile files: pickles that name Python globals a state_dict never holds (os.system,
/// builtins.eval, subprocess.Popen), storages declared far larger than their bytes, truncated zips, and random mutations
/// of a valid file. Each is read or refused with <see cref="InvalidDataException"/> naming the file and saying what to save
/// instead; nothing named in a file runs, nothing hangs, no out-of-memory.
/// </summary>
public sealed class PthFuzzTests : IDisposable
{
    private const long Cases = 400;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private const long MaxAllocated = 64L << 20;

    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-fuzz-pth-").FullName;
    private readonly ITestOutputHelper _output;

    public PthFuzzTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly PthFile.Entry[] Valid =
    {
        new("conv1.weight", new float[] { 1, 2, 3, 4, 5, 6, 7, 8 }, new long[] { 2, 1, 2, 2 }),
        new("bn1.running_mean", new float[] { 0.5f, -0.5f }, new long[] { 2 }),
    };

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + "-" + name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void TheHandWrittenFileReadsAsTorchSaveWouldHaveIt()
    {
        string path = Write("valid.pth", PthFile.StateDict(Valid));
        var weights = TorchvisionWeights.Read(path);
        Assert.Equal(new[] { "bn1.running_mean", "conv1.weight" }, weights.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new long[] { 2, 1, 2, 2 }, weights["conv1.weight"].shape);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6, 7, 8 }, weights["conv1.weight"].data<float>().ToArray());
        Assert.Equal(new float[] { 0.5f, -0.5f }, weights["bn1.running_mean"].data<float>().ToArray());
    }

    [Theory]
    [InlineData("posix", "system")]
    [InlineData("os", "system")]
    [InlineData("builtins", "eval")]
    [InlineData("builtins", "exec")]
    [InlineData("subprocess", "Popen")]
    [InlineData("nt", "system")]
    public void APickleNamingAnotherGlobalIsRefusedAndNothingRuns(string module, string name)
    {
        string marker = Path.Combine(_dir, $"ran-{module}-{name}");
        string command = name == "Popen" ? $"touch {marker}" : $"import os; os.system('touch {marker}')";
        if (name == "system") command = $"touch {marker}";
        string path = Write("hostile.pth", PthFile.StateDict(Valid, PthFile.CallingPickle(module, name, command)));
        var error = Assert.Throws<InvalidDataException>(() => TorchvisionWeights.Read(path));
        _output.WriteLine(error.Message);
        Assert.False(File.Exists(marker), "the file's command ran");
        Assert.Contains(path, error.Message);
        Assert.Contains($"'{module}.{name}'", error.Message); // what the file holds that a state_dict must not
        Assert.Contains("Nothing in it was run", error.Message);
        Assert.Contains("torch.save(model.state_dict(), path)", error.Message); // what to save instead
        Assert.DoesNotContain("IObjectConstructor", error.Message); // the pickle library's advice to its own programmers
    }

    [Theory]
    [InlineData(1L << 31)]        // 8 GiB of floats declared for 32 bytes
    [InlineData(1L << 40)]
    [InlineData(long.MaxValue / 8)]
    [InlineData(-5L)]
    public void AStorageDeclaredLargerThanItsBytesReadsOnlyItsBytes(long declared)
    {
        // the storage's length comes from its bytes in the zip, never from the number the pickle declares
        var entries = new[] { Valid[0] with { DeclaredNumel = declared }, Valid[1] };
        string path = Write("huge.pth", PthFile.StateDict(entries));
        var outcome = BoundedRun.Check<InvalidDataException>(() =>
        {
            var weights = TorchvisionWeights.Read(path);
            Assert.Equal(Valid[0].Values, weights["conv1.weight"].data<float>().ToArray());
        }, $"declared numel {declared}", Timeout, MaxAllocated);
        _output.WriteLine($"declared {declared}: {outcome}");
    }

    [Theory]
    [InlineData(1L << 20, 1L << 20)] // a 2^40-element view of 8 floats
    [InlineData(3L, 3L)]             // 9 elements of 8
    [InlineData(-1L, 8L)]
    public void ATensorLargerThanItsStorageIsRefused(long rows, long columns)
    {
        var entries = new[] { Valid[0] with { Size = new[] { rows, columns } }, Valid[1] };
        string path = Write("view.pth", PthFile.StateDict(entries));
        var outcome = BoundedRun.Check<InvalidDataException>(() => TorchvisionWeights.Read(path), $"size [{rows}, {columns}]", Timeout, MaxAllocated);
        Assert.Equal(FuzzOutcome.Rejected, outcome);
        var error = Assert.Throws<InvalidDataException>(() => TorchvisionWeights.Read(path));
        _output.WriteLine(error.Message);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void TruncatedAndMutatedFilesAreReadOrRefused()
    {
        var valid = PthFile.StateDict(Valid);
        int accepted = 0, rejected = 0;
        // every truncation at a stride through the file, then random mutations
        for (int length = 0; length < valid.Length; length += Math.Max(1, valid.Length / 60))
        {
            string path = Write("cut.pth", valid[..length]);
            if (BoundedRun.Check<InvalidDataException>(() => TorchvisionWeights.Read(path), $"cut at {length}", Timeout, MaxAllocated) == FuzzOutcome.Accepted)
                accepted++;
            else rejected++;
        }
        Assert.Equal(0, accepted); // a truncated zip never reads
        Mutations.Of(valid).Sample(m =>
        {
            string path = Write("mutated.pth", m.Bytes);
            var outcome = BoundedRun.Check<InvalidDataException>(() =>
            {
                try
                {
                    foreach (var (_, t) in TorchvisionWeights.Read(path))
                        Assert.True(t.numel() <= 64, "a tensor larger than the file could hold");
                }
                catch (InvalidDataException e)
                {
                    Assert.Contains(path, e.Message);
                    throw;
                }
            }, $"pth after {m.Edits}", Timeout, MaxAllocated);
            if (outcome == FuzzOutcome.Accepted) Interlocked.Increment(ref accepted);
            else Interlocked.Increment(ref rejected);
        }, iter: Cases);
        _output.WriteLine($".pth: {accepted} read, {rejected} refused with InvalidDataException (truncations and {Cases} mutations)");
        Assert.True(rejected > Cases / 10);
    }
}

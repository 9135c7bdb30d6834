using Microsoft.ML.RetinaNet.Datasets;
using Microsoft.ML.RetinaNet.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.RetinaNet.Tests.Estimator;

/// <summary>
/// Checkpoints and resume: a run stopped after an epoch or in the middle of one and resumed ends with the weights of an
/// unbroken run; a truncated or damaged newest checkpoint is reported and the one before it used; a checkpoint from
/// another configuration is refused; a full disk while writing a checkpoint leaves the previous one usable.
/// </summary>
[Xunit.Collection(BitExactTrainingCollection.Name)]
public sealed class ResumeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-resume-").FullName;
    private readonly ITestOutputHelper _output;
    private readonly List<string> _log = new();
    private readonly MLContext _ml = new(seed: 1);
    private readonly IDataView _data;

    public ResumeTests(ITestOutputHelper output)
    {
        _output = output;
        var rows = SyntheticShapes.Write(Path.Combine(_dir, "images"), 8, 64, 64, seed: 9);
        var raw = _ml.Data.LoadFromEnumerable(rows);
        _data = _ml.Transforms.Conversion.MapValueToKey("Label").Append(_ml.Transforms.LoadImages("Image", Path.Combine(_dir, "images"), nameof(DetectionRecord.ImagePath)))
            .Fit(raw).Transform(raw);
        _ml.Log += (_, e) =>
        {
            if (e.Source.StartsWith(nameof(RetinaNetTrainer), StringComparison.Ordinal))
                lock (_log) _log.Add(e.RawMessage);
        };
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Checkpoints => Path.Combine(_dir, "checkpoints");

    private RetinaNetTrainer.Options Options(bool checkpoints, bool resume = false) => new()
    {
        Depth = 18, ImageSize = 64, BatchSize = 4, Epochs = 2, Optimizer = RetinaNetOptimizer.AdamW, LearningRate = 5e-4, WarmupSteps = 2,
        CheckpointDirectory = checkpoints ? Checkpoints : null, ResumeFromCheckpoint = resume, Seed = 3, LogEveryNSteps = 1,
    };

    private RetinaNetTransformer Fit(RetinaNetTrainer.Options options, CancellationToken token = default) =>
        _ml.MulticlassClassification.Trainers.RetinaNet(options).Fit(_data, token);

    /// <summary>Trains with checkpoints and cancels as soon as a log line starts with <paramref name="stopAfter"/>.</summary>
    private void FitAndStop(RetinaNetTrainer.Options options, string stopAfter)
    {
        using var stop = new CancellationTokenSource();
        EventHandler<LoggingEventArgs> watch = (_, e) => { if (e.RawMessage.StartsWith(stopAfter, StringComparison.Ordinal)) stop.Cancel(); };
        _ml.Log += watch;
        try
        {
            Assert.Throws<OperationCanceledException>(() => Fit(options, stop.Token));
        }
        finally
        {
            _ml.Log -= watch;
        }
    }

    private double LargestDifference(RetinaNetTransformer a, RetinaNetTransformer b)
    {
        var left = a.Model.Network.state_dict();
        var right = b.Model.Network.state_dict();
        double worst = 0;
        foreach (var (name, tensor) in left)
        {
            if (tensor.numel() == 0 || tensor.dtype != TorchSharp.torch.ScalarType.Float32) continue;
            worst = Math.Max(worst, (tensor - right[name]).abs().max().item<float>());
        }
        _output.WriteLine($"largest weight difference: {worst:E2}");
        return worst;
    }

    private IEnumerable<string> LogSince(string prefix)
    {
        lock (_log) return _log.SkipWhile(m => !m.StartsWith(prefix, StringComparison.Ordinal)).ToList();
    }

    [Fact]
    public void ResumingAfterEpochOneGivesTheWeightsOfAnUnbrokenRun()
    {
        using var straight = Fit(Options(checkpoints: false));
        FitAndStop(Options(checkpoints: true), "epoch 1/2 done");
        Assert.Single(Directory.GetFiles(Checkpoints, "checkpoint-*.json"));

        using var resumed = Fit(Options(checkpoints: true, resume: true));
        Assert.Contains(_log, m => m.StartsWith("resuming after epoch 1 (step 2)", StringComparison.Ordinal));
        Assert.DoesNotContain(LogSince("resuming"), m => m.StartsWith("epoch 1/2", StringComparison.Ordinal));
        Assert.Equal(straight.History.Select(h => h.MeanLoss), resumed.History.Select(h => h.MeanLoss));
        Assert.True(LargestDifference(straight, resumed) <= 1e-5);
    }

    [Fact]
    public void ResumingInTheMiddleOfAnEpochGivesTheWeightsOfAnUnbrokenRun()
    {
        using var straight = Fit(Options(checkpoints: false));
        var options = Options(checkpoints: true);
        options.CheckpointEveryNSteps = 1;
        FitAndStop(options, "epoch 2/2 step 1/2");

        options.ResumeFromCheckpoint = true;
        using var resumed = Fit(options);
        Assert.Contains(_log, m => m.StartsWith("resuming in epoch 2 after its step 1 (step 3)", StringComparison.Ordinal));
        Assert.DoesNotContain(LogSince("resuming"), m => m.StartsWith("epoch 2/2 step 1/2", StringComparison.Ordinal));
        // the epoch's mean loss includes the step done before the stop
        Assert.Equal(straight.History.Select(h => h.MeanLoss), resumed.History.Select(h => h.MeanLoss));
        Assert.True(LargestDifference(straight, resumed) <= 1e-5);
        Assert.Equal(2, Directory.GetFiles(Checkpoints, "checkpoint-*.json").Length); // the newest two are kept
    }

    [Theory]
    [InlineData("truncated", "bytes")]
    [InlineData("flipped", "SHA-256")]
    public void ADamagedNewestCheckpointIsReportedAndThePreviousOneIsUsed(string damage, string reported)
    {
        using var straight = Fit(Options(checkpoints: false));
        using (Fit(Options(checkpoints: true))) { }
        var states = Directory.GetFiles(Checkpoints, "checkpoint-*.json").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(2, states.Length);
        string newestWeights = Path.Combine(Checkpoints, "step-0000004.weights");
        var bytes = File.ReadAllBytes(newestWeights);
        if (damage == "truncated")
            File.WriteAllBytes(newestWeights, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        else
        {
            bytes[bytes.Length / 2] ^= 0x40;
            File.WriteAllBytes(newestWeights, bytes);
        }

        using var resumed = Fit(Options(checkpoints: true, resume: true));
        Assert.Contains(_log, m => m.Contains("checkpoint-0000004.json' is damaged", StringComparison.Ordinal) && m.Contains(reported, StringComparison.Ordinal));
        Assert.Contains(_log, m => m.StartsWith("resuming after epoch 1 (step 2)", StringComparison.Ordinal));
        Assert.True(File.Exists(states[1] + ".damaged"));
        // epoch 2 trained again from the intact checkpoint: the same weights as the unbroken run
        Assert.True(LargestDifference(straight, resumed) <= 1e-5);
    }

    [Fact]
    public void AnUnreadableCheckpointFileIsSetAsideToo()
    {
        using (Fit(Options(checkpoints: true))) { }
        File.WriteAllText(Path.Combine(Checkpoints, "checkpoint-0000004.json"), "{ \"CompletedEpochs\": 2, ");
        using var resumed = Fit(Options(checkpoints: true, resume: true));
        Assert.Contains(_log, m => m.Contains("checkpoint-0000004.json' cannot be read", StringComparison.Ordinal));
        Assert.Contains(_log, m => m.StartsWith("resuming after epoch 1", StringComparison.Ordinal));
    }

    [Fact]
    public void ACheckpointOfAnotherConfigurationIsRefusedNamingTheOption()
    {
        FitAndStop(Options(checkpoints: true), "epoch 1/2 done");
        var other = Options(checkpoints: true, resume: true);
        other.BatchSize = 2;
        var error = Assert.Throws<InvalidOperationException>(() => Fit(other));
        Assert.Contains("BatchSize 4 in the checkpoint, 2 now", error.Message);
    }

    [Fact]
    public void AFullDiskWhileCheckpointingStopsWithAClearErrorAndThePreviousCheckpointStillResumes()
    {
        // each checkpoint is three files (weights, optimiser state, checkpoint-*.json): the fourth file opened, the second
        // checkpoint's weights, finds the disk full after 100 kB
        int opened = 0;
        SafeFile.WrapStreamForTests.Value = s => Interlocked.Increment(ref opened) >= 4 ? new FullDiskStream(s, 100_000) : s;
        IOException error;
        try
        {
            error = Assert.Throws<IOException>(() => Fit(Options(checkpoints: true)));
        }
        finally
        {
            SafeFile.WrapStreamForTests.Value = null;
        }
        _output.WriteLine(error.Message);
        Assert.Contains("step-0000004.weights': the disk is full", error.Message);
        Assert.Contains("Free some space", error.Message);
        Assert.Empty(Directory.GetFiles(Checkpoints, "*.tmp"));
        Assert.Single(Directory.GetFiles(Checkpoints, "checkpoint-*.json"));

        using var straight = Fit(Options(checkpoints: false));
        using var resumed = Fit(Options(checkpoints: true, resume: true));
        Assert.Contains(_log, m => m.StartsWith("resuming after epoch 1 (step 2)", StringComparison.Ordinal));
        Assert.True(LargestDifference(straight, resumed) <= 1e-5);
    }

    [Fact]
    public void AFullDiskWhileExportingLeavesTheEarlierOnnxFileAsItWas()
    {
        var options = Options(checkpoints: false);
        options.Epochs = 1;
        using var model = Fit(options);
        string path = Path.Combine(_dir, "model.onnx");
        File.WriteAllText(path, "the earlier export");
        SafeFile.WrapStreamForTests.Value = s => new FullDiskStream(s, 1_000_000);
        try
        {
            var error = Assert.Throws<IOException>(() => model.ExportToOnnx(path));
            Assert.Contains("the disk is full", error.Message);
            Assert.Contains("The previous file there is unchanged", error.Message);
        }
        finally
        {
            SafeFile.WrapStreamForTests.Value = null;
        }
        Assert.Equal("the earlier export", File.ReadAllText(path));
        Assert.False(File.Exists(path + ".tmp"));
    }

    /// <summary>Accepts <c>capacity</c> bytes, then fails as Linux does when the disk is full (ENOSPC, errno 28).</summary>
    private sealed class FullDiskStream : Stream
    {
        private readonly Stream _inner;
        private long _left;

        public FullDiskStream(Stream inner, long capacity) => (_inner, _left) = (inner, capacity);

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => _inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (buffer.Length > _left)
            {
                _inner.Write(buffer[..(int)_left]);
                _left = 0;
                throw new IOException("No space left on device", 28);
            }
            _inner.Write(buffer);
            _left -= buffer.Length;
        }
    }
}

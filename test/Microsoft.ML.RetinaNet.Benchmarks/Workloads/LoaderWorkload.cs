using Microsoft.ML.RetinaNet.Data;
using Microsoft.ML.RetinaNet.Datasets;
using Microsoft.ML.RetinaNet.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Benchmarks.Workloads;

/// <summary>
/// The data side of training alone, per image: PNG decode and letterbox (ML.NET's <c>LoadImages</c> and our reader,
/// which the trainer runs once before the first epoch) plus augmentation (flip, scale jitter) and batching into
/// normalised tensors (which it runs every step). Timed as one pass over the images.
/// </summary>
internal sealed class LoaderWorkload : IWorkload
{
    private readonly IDataView _data;
    private readonly int _size, _batch;
    private int _pass;

    public LoaderWorkload(string folder, int images, int imageWidth, int imageHeight, int size, int batch)
    {
        var rows = SyntheticShapes.Write(folder, images, imageWidth, imageHeight, seed: 5);
        var ml = new MLContext(seed: 1);
        var raw = ml.Data.LoadFromEnumerable(rows);
        _data = ml.Transforms.Conversion.MapValueToKey(DefaultColumnNames.Label)
            .Append(ml.Transforms.LoadImages(DefaultColumnNames.Image, folder, nameof(DetectionRecord.ImagePath)))
            .Fit(raw).Transform(raw);
        Images = images;
        _size = size;
        _batch = batch;
    }

    public int Images { get; }

    /// <summary>Seconds of the last run spent decoding and letterboxing (the rest is augmentation and batching).</summary>
    public double DecodeSeconds { get; private set; }

    public void Run()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var dataset = DatasetReader.Read(_data, DefaultColumnNames.Image, DefaultColumnNames.Label, DefaultColumnNames.BoundingBoxes, _size, "benchmark images");
        DecodeSeconds = clock.Elapsed.TotalSeconds;
        _pass++;
        for (int start = 0, step = 0; start < dataset.Examples.Count; start += _batch, step++)
        {
            var augmentation = new Augmentation(0.5, 0.8, 1.2, seed: _pass * 1000 + step);
            var examples = dataset.Examples.Skip(start).Take(_batch).ToList();
            using var batch = new BatchBuilder(_size, augmentation, CPU).Build(examples);
        }
    }

    public void Dispose() { }
}

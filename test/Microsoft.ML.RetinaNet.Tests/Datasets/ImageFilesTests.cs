using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Datasets;
using Microsoft.ML.RetinaNet.Tests.Estimator;
using SkiaSharp;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests.Datasets;

/// <summary>ImageFiles.Problem names what is wrong with an image file in the decoder's words; scoring refuses truncated files.</summary>
[Collection(TrainedShapesCollection.Name)]
public sealed class ImageFilesTests : IDisposable
{
    private readonly TrainedShapesFixture _trained;
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-images-").FullName;

    public ImageFilesTests(TrainedShapesFixture trained) => _trained = trained;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Encoded(SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(64, 48);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            using var paint = new SKPaint { Color = SKColors.Red };
            for (int i = 0; i < 48; i += 6) canvas.DrawRect(new SKRect(i, i / 2f, i + 5, i / 2f + 20), paint);
        }
        using var data = bitmap.Encode(format, 90);
        return data.ToArray();
    }

    [Theory]
    [InlineData(SKEncodedImageFormat.Png)]
    [InlineData(SKEncodedImageFormat.Jpeg)]
    public void EachKindOfBadFileGetsItsReason(SKEncodedImageFormat format)
    {
        byte[] good = Encoded(format);
        string ext = format == SKEncodedImageFormat.Png ? ".png" : ".jpg";
        Assert.Null(ImageFiles.Problem(Write("good" + ext, good)));
        Assert.StartsWith("truncated: the decoder ran out of data before the last row (IncompleteInput", ImageFiles.Problem(Write("cut" + ext, good[..(good.Length * 2 / 3)])));
        Assert.Equal("the file is empty (0 bytes)", ImageFiles.Problem(Write("empty" + ext, Array.Empty<byte>())));
        Assert.Equal("not an image: no decoder recognises its contents (11 bytes)", ImageFiles.Problem(Write("text" + ext, "hello world"u8.ToArray())));
        Assert.Equal("the file does not exist", ImageFiles.Problem(Path.Combine(_dir, "missing" + ext)));
    }

    [Fact]
    public void TransformStopsAtATruncatedImageNamingIt()
    {
        // a training image cut in half decodes partly, without an error from LoadImages; the model must not score it
        var row = _trained.Rows[0];
        byte[] bytes = File.ReadAllBytes(Path.Combine(_trained.Directory, row.ImagePath));
        string cut = Write("cut.png", bytes[..(bytes.Length / 2)]);
        var data = _trained.Ml.Data.LoadFromEnumerable(new[] { new DetectionRecord { ImagePath = cut, Label = row.Label, BoundingBoxes = row.BoundingBoxes } });
        var scored = _trained.Model.Transform(data);
        var error = Assert.ThrowsAny<Exception>(() => scored.GetColumn<float[]>("Score").ToList());
        string messages = string.Join(" | ", Chain(error).Select(e => e.Message));
        Assert.Contains($"Image '{cut}' cannot be scored: truncated", messages);

        // the same rows with the whole image score
        var whole = _trained.Ml.Data.LoadFromEnumerable(new[] { row });
        Assert.Single(_trained.Model.Transform(whole).GetColumn<float[]>("Score").ToList());
    }

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? x = e; x != null; x = x.InnerException)
        {
            yield return x;
            if (x is AggregateException a)
                foreach (var inner in a.InnerExceptions.SelectMany(Chain))
                    yield return inner;
        }
    }
}

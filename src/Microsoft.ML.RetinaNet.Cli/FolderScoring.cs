using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Datasets;
using SkiaSharp;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>One image's detections: class names, scores (descending), 4 box values each in the image's pixels.</summary>
internal sealed record ImageDetections(string File, string[] Labels, float[] Scores, float[] Boxes);

/// <summary>
/// Scores every image of a folder with a saved model, decoding each image once: the decode that checks it (a missing,
/// empty, foreign or truncated file is reported and left out) gives the Image column the model scores, and the picture
/// <c>predict</c> draws on. The data also has the image path, so a model whose first step is LoadImages (input: a path)
/// works too (it then reads the file again itself); one that starts from the image (as <c>train</c> and the main job save
/// it) does not.
/// </summary>
internal static class FolderScoring
{
    private sealed class ImageRow
    {
        public string ImagePath { get; set; } = "";

        [Microsoft.ML.RetinaNet.Scoring.AnyImageSize]
        public MLImage? Image { get; set; }
    }

    /// <summary>The detections of every readable image of <paramref name="folder"/>; unreadable ones go to <paramref name="unreadable"/>.</summary>
    public static List<ImageDetections> Score(string modelPath, string folder, UnreadableImages unreadable, out int total) =>
        Score(modelPath, folder, unreadable, out total, out _);

    /// <summary>
    /// As <see cref="Score(string, string, UnreadableImages, out int)"/>; <paramref name="onScored"/>, when given, gets the
    /// model's class names and each image's detections with its decoded pixels before they are released.
    /// </summary>
    public static List<ImageDetections> Score(string modelPath, string folder, UnreadableImages unreadable, out int total, out string[] classNames,
        Action<string[], ImageDetections, SKBitmap>? onScored = null)
    {
        classNames = Array.Empty<string>();
        var ml = new MLContext(seed: 0);
        var model = ml.Model.LoadRetinaNet(modelPath, out _);
        var all = ImageFiles.In(folder);
        total = all.Count;
        // rows are decoded as the cursor asks for them; each waits here with its pixels until its detections are read
        var pending = new Queue<(string File, SKBitmap Bitmap, MLImage Image)>();
        IEnumerable<ImageRow> Rows()
        {
            foreach (string file in all)
            {
                var bitmap = ImageFiles.Decode(file, out string? problem);
                if (bitmap is null)
                {
                    unreadable.Report(file, problem!);
                    continue;
                }
                var image = MLImage.CreateFromPixels(bitmap.Width, bitmap.Height, MLPixelFormat.Bgra32, bitmap.GetPixelSpan());
                pending.Enqueue((file, bitmap, image));
                yield return new ImageRow { ImagePath = Path.GetFullPath(file), Image = image };
            }
        }
        var scored = model.Transform(ml.Data.LoadFromEnumerable(Rows()));
        var names = classNames = EvaluateCommand.ClassNames(scored.Schema);
        var label = scored.Schema[DefaultColumnNames.PredictedLabel];
        var score = scored.Schema[DefaultColumnNames.Score];
        var box = scored.Schema[DefaultColumnNames.PredictedBoundingBoxes];
        var results = new List<ImageDetections>();
        try
        {
            using var cursor = scored.GetRowCursor(new[] { label, score, box });
            var getLabels = cursor.GetGetter<VBuffer<uint>>(label);
            var getScores = cursor.GetGetter<VBuffer<float>>(score);
            var getBoxes = cursor.GetGetter<VBuffer<float>>(box);
            VBuffer<uint> keys = default;
            VBuffer<float> scores = default, boxes = default;
            while (cursor.MoveNext())
            {
                getLabels(ref keys); getScores(ref scores); getBoxes(ref boxes);
                var (file, bitmap, image) = pending.Dequeue();
                var result = new ImageDetections(file, keys.DenseValues().Select(k => names[k - 1]).ToArray(),
                    scores.DenseValues().ToArray(), boxes.DenseValues().ToArray());
                results.Add(result);
                using (bitmap)
                using (image)
                    onScored?.Invoke(names, result, bitmap);
            }
        }
        finally
        {
            while (pending.Count > 0)
            {
                var (_, bitmap, image) = pending.Dequeue();
                bitmap.Dispose();
                image.Dispose();
            }
        }
        return results;
    }
}

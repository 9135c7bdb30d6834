using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Datasets;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>One image's detections: class names, scores (descending), 4 box values each in the image's pixels.</summary>
internal sealed record ImageDetections(string File, string[] Labels, float[] Scores, float[] Boxes);

/// <summary>
/// Scores every image of a folder with a saved model. The data has both an image path column and the loaded image, so a
/// model whose first step is LoadImages (input: a path) and one that starts from the image (as `train` saves it) both work.
/// </summary>
internal static class FolderScoring
{
    private sealed class ImageRow
    {
        public string ImagePath { get; set; } = "";
    }

    /// <summary>The detections of every readable image of <paramref name="folder"/>; unreadable ones go to <paramref name="unreadable"/>.</summary>
    public static List<ImageDetections> Score(string modelPath, string folder, UnreadableImages unreadable, out int total) =>
        Score(modelPath, folder, unreadable, out total, out _);

    /// <inheritdoc cref="Score(string, string, UnreadableImages, out int)"/>
    public static List<ImageDetections> Score(string modelPath, string folder, UnreadableImages unreadable, out int total, out string[] classNames)
    {
        classNames = Array.Empty<string>();
        var ml = new MLContext(seed: 0);
        var model = ml.Model.LoadRetinaNet(modelPath, out _);
        var all = ImageFiles.In(folder);
        total = all.Count;
        var files = unreadable.KeepReadable(all);
        if (files.Count == 0)
            return new List<ImageDetections>();
        var rows = ml.Data.LoadFromEnumerable(files.Select(f => new ImageRow { ImagePath = Path.GetFullPath(f) }));
        var data = ml.Transforms.LoadImages("Image", imageFolder: null, nameof(ImageRow.ImagePath)).Fit(rows).Transform(rows);
        var scored = model.Transform(data);
        var names = classNames = EvaluateCommand.ClassNames(scored.Schema);
        var label = scored.Schema[DefaultColumnNames.PredictedLabel];
        var score = scored.Schema[DefaultColumnNames.Score];
        var box = scored.Schema[DefaultColumnNames.PredictedBoundingBoxes];
        var results = new List<ImageDetections>();
        using var cursor = scored.GetRowCursor(new[] { label, score, box });
        var getLabels = cursor.GetGetter<VBuffer<uint>>(label);
        var getScores = cursor.GetGetter<VBuffer<float>>(score);
        var getBoxes = cursor.GetGetter<VBuffer<float>>(box);
        VBuffer<uint> keys = default;
        VBuffer<float> scores = default, boxes = default;
        while (cursor.MoveNext())
        {
            getLabels(ref keys); getScores(ref scores); getBoxes(ref boxes);
            results.Add(new ImageDetections(files[results.Count], keys.DenseValues().Select(k => names[k - 1]).ToArray(),
                scores.DenseValues().ToArray(), boxes.DenseValues().ToArray()));
        }
        return results;
    }
}

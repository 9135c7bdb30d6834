using System.Globalization;
using System.Text.Json;
using Microsoft.ML.RetinaNet.Datasets;
using Microsoft.ML.RetinaNet.Datasets.Formats;

namespace Microsoft.ML.RetinaNet.Evaluation;

/// <summary>
/// The results-file mode, as pycocotools is used: <c>COCO(annotations)</c>, <c>loadRes(results)</c>, <c>COCOeval(…,
/// 'bbox')</c>. Everything is read as the JSON numbers are (doubles): the ground truth (read leniently by the one COCO
/// reader, <see cref="CocoAnnotations"/>) with each annotation's bbox, <c>area</c> (w·h when absent) and <c>iscrowd</c> in
/// file order; each result's <c>image_id</c>, <c>category_id</c>,
/// <c>bbox</c> and <c>score</c> in file order (its area is w·h, as loadRes sets it). Classes are the categories in
/// ascending id. Results for an image or a category the annotations do not have are an error (pycocotools refuses the
/// first and silently drops the second).
/// </summary>
internal static class CocoResultsEvaluation
{
    private sealed class Image
    {
        public List<CocoBox> Gt { get; } = new();
        public List<int> GtLabels { get; } = new();
        public List<bool> GtCrowd { get; } = new();
        public List<CocoBox> Dt { get; } = new();
        public List<double> DtScores { get; } = new();
        public List<int> DtLabels { get; } = new();
    }

    public static DetectionMetrics Evaluate(string annotationsPath, string resultsPath)
    {
        var images = new SortedDictionary<long, Image>();
        var categoryIndex = new Dictionary<long, int>();
        string[] classNames;
        var gt = CocoAnnotations.Read(annotationsPath, CocoReading.Lenient);
        foreach (var c in gt.Categories)
            categoryIndex.Add(c.Id, categoryIndex.Count);
        classNames = gt.Categories.Select(c => c.Name).ToArray();
        foreach (var image in gt.Images)
            images.Add(image.Id, new Image());
        foreach (var a in gt.Annotations)
        {
            var image = images[a.ImageId];
            image.Gt.Add(CocoBox.FromBbox(a.Bbox[0], a.Bbox[1], a.Bbox[2], a.Bbox[3], a.Area));
            image.GtLabels.Add(categoryIndex[a.CategoryId]);
            image.GtCrowd.Add(a.Crowd);
        }
        using (var results = Parse(resultsPath))
        {
            if (results.RootElement.ValueKind != JsonValueKind.Array)
                throw new DatasetFormatException(resultsPath, "top level",
                    "must be a COCO results array: [{\"image_id\", \"category_id\", \"bbox\": [x, y, w, h], \"score\"}, …]");
            int index = 0;
            foreach (var r in results.RootElement.EnumerateArray())
            {
                string place = $"result {index++}";
                long imageId = Long(resultsPath, r, "image_id", place);
                long categoryId = Long(resultsPath, r, "category_id", place);
                if (!images.TryGetValue(imageId, out var image))
                    throw new DatasetFormatException(resultsPath, place,
                        $"image id {imageId} is not in the annotations '{annotationsPath}' (pycocotools: \"Results do not correspond to current "
                            + $"coco set\")");
                if (!categoryIndex.TryGetValue(categoryId, out int k))
                    throw new DatasetFormatException(resultsPath, place,
                        $"category id {categoryId} is not in the annotations' categories ({string.Join(", ", categoryIndex.Keys)})");
                var b = Bbox(resultsPath, r, place);
                if (!r.TryGetProperty("score", out var score) || score.ValueKind != JsonValueKind.Number || !double.IsFinite(score.GetDouble()))
                    throw new DatasetFormatException(resultsPath, place, "needs a finite number \"score\"");
                image.Dt.Add(CocoBox.FromBbox(b[0], b[1], b[2], b[3]));
                image.DtScores.Add(score.GetDouble());
                image.DtLabels.Add(k);
            }
        }
        var evaluator = new CocoEvaluator(classNames.Length);
        foreach (var (id, image) in images)
            evaluator.Add(id, image.Gt.ToArray(), image.GtLabels.ToArray(), image.GtCrowd.ToArray(), image.Dt.ToArray(), image.DtScores.ToArray(),
                image.DtLabels.ToArray());
        return evaluator.Evaluate(classNames);
    }

    private static JsonDocument Parse(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{path}' does not exist.", path);
        try
        {
            using var stream = File.OpenRead(path);
            return JsonDocument.Parse(stream);
        }
        catch (JsonException e)
        {
            throw new DatasetFormatException(path, e.LineNumber is long line ? $"line {line + 1}" : "JSON", $"not valid JSON: {e.Message}", e);
        }
    }

    private static long Long(string path, JsonElement e, string name, string place)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Number)
            throw new DatasetFormatException(path, place, $"needs a number \"{name}\"");
        if (value.TryGetInt64(out long whole))
            return whole;
        double d = value.GetDouble();
        return d == Math.Floor(d) && Math.Abs(d) < 9e15 ? (long)d : throw new DatasetFormatException(path, place,
            $"\"{name}\" {d.ToString(CultureInfo.InvariantCulture)} is not a whole number");
    }

    private static double[] Bbox(string path, JsonElement e, string place)
    {
        if (!e.TryGetProperty("bbox", out var bbox) || bbox.ValueKind != JsonValueKind.Array || bbox.GetArrayLength() != 4
            || bbox.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.Number))
            throw new DatasetFormatException(path, place, "needs a \"bbox\" of 4 numbers: x, y, width, height");
        var b = bbox.EnumerateArray().Select(v => v.GetDouble()).ToArray();
        if (b.Any(v => !double.IsFinite(v)) || b[2] < 0 || b[3] < 0)
            throw new DatasetFormatException(path, place,
                $"bbox [{string.Join(", ", b.Select(v => v.ToString(CultureInfo.InvariantCulture)))}] needs finite numbers and a width and height "
                    + $"of 0 or more");
        return b;
    }
}

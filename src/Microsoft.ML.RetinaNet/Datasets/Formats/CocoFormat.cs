using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML.RetinaNet.Runtime;
using SkiaSharp;

namespace Microsoft.ML.RetinaNet.Datasets.Formats;

/// <summary>
/// COCO detection JSON (<c>images</c>, <c>annotations</c> with <c>bbox</c> = x, y, width, height, <c>categories</c> with ids
/// that need not be contiguous) to and from <see cref="DetectionRecord"/>s. The JSON is read as a stream into compact
/// objects; the images themselves are not opened (LoadImages does that lazily). Class names come from the categories
/// in the order of their ids.
/// </summary>
public static class CocoFormat
{
    private sealed class CocoFile
    {
        [JsonPropertyName("images")] public List<CocoImage>? Images { get; set; }
        [JsonPropertyName("annotations")] public List<CocoAnnotation>? Annotations { get; set; }
        [JsonPropertyName("categories")] public List<CocoCategory>? Categories { get; set; }
    }

    private sealed class CocoImage
    {
        [JsonPropertyName("id")] public long Id { get; set; }
        [JsonPropertyName("file_name")] public string? FileName { get; set; }
        [JsonPropertyName("width")] public int Width { get; set; }
        [JsonPropertyName("height")] public int Height { get; set; }
    }

    private sealed class CocoAnnotation
    {
        [JsonPropertyName("id")] public long Id { get; set; }
        [JsonPropertyName("image_id")] public long ImageId { get; set; }
        [JsonPropertyName("category_id")] public long CategoryId { get; set; }
        [JsonPropertyName("bbox")] public double[]? Bbox { get; set; }
        [JsonPropertyName("iscrowd")] public int IsCrowd { get; set; }
        [JsonPropertyName("area")] public double? Area { get; set; }
    }

    private sealed class CocoCategory
    {
        [JsonPropertyName("id")] public long Id { get; set; }
        [JsonPropertyName("name")] public string? Name { get; set; }
    }

    /// <summary>The records of a COCO file (every image, also those without annotations) and the class names.</summary>
    public static (List<DetectionRecord> Records, IReadOnlyList<string> ClassNames) Read(string jsonPath,
        CrowdAnnotations crowd = CrowdAnnotations.Skip)
    {
        CocoFile file;
        try
        {
            using var stream = File.OpenRead(jsonPath);
            file = JsonSerializer.Deserialize<CocoFile>(stream) ?? throw new DatasetFormatException(jsonPath, "top level",
                "the file is empty (null)");
        }
        catch (JsonException e)
        {
            string place = e.LineNumber is long line ? $"line {line + 1}, byte {e.BytePositionInLine + 1}" : "JSON";
            throw new DatasetFormatException(jsonPath, place, $"not valid COCO JSON: {e.Message}", e);
        }
        if (file.Images is null) throw new DatasetFormatException(jsonPath, "top level", "has no \"images\" array");
        if (file.Categories is null || file.Categories.Count == 0) throw new DatasetFormatException(jsonPath, "top level",
            "has no \"categories\"; a detector needs at least one");
        NoNullEntries(jsonPath, "images", file.Images);
        NoNullEntries(jsonPath, "categories", file.Categories);
        NoNullEntries(jsonPath, "annotations", file.Annotations);

        var categories = file.Categories.OrderBy(c => c.Id).ToList();
        var names = new Dictionary<long, string>();
        foreach (var c in categories)
        {
            if (string.IsNullOrWhiteSpace(c.Name)) throw new DatasetFormatException(jsonPath, $"category id {c.Id}", "has no name");
            if (!names.TryAdd(c.Id, c.Name)) throw new DatasetFormatException(jsonPath, $"category id {c.Id}", "appears twice");
        }
        var images = new Dictionary<long, (CocoImage Image, List<string> Labels, List<float> Boxes, List<bool> Crowd, List<double> Area)>();
        foreach (var image in file.Images)
        {
            if (string.IsNullOrWhiteSpace(image.FileName)) throw new DatasetFormatException(jsonPath, $"image id {image.Id}", "has no file_name");
            if (!images.TryAdd(image.Id, (image, new List<string>(), new List<float>(), new List<bool>(),
                new List<double>()))) throw new DatasetFormatException(jsonPath, $"image id {image.Id}", "appears twice");
        }
        foreach (var a in file.Annotations ?? new List<CocoAnnotation>())
        {
            string place = $"annotation id {a.Id}";
            if (!images.TryGetValue(a.ImageId, out var entry)) throw new DatasetFormatException(jsonPath, place,
                $"refers to image id {a.ImageId}, which is not in \"images\"");
            if (!names.TryGetValue(a.CategoryId, out var name)) throw new DatasetFormatException(jsonPath, place,
                $"refers to category id {a.CategoryId}, which is not in \"categories\"");
            if (a.Bbox is not { Length: 4 } b) throw new DatasetFormatException(jsonPath, place, "needs a bbox of 4 numbers: x, y, width, height");
            if (!(b[2] > 0) || !(b[3] > 0) || b.Any(v => !double.IsFinite(v)))
                throw new DatasetFormatException(jsonPath, place,
                    $"bbox [{string.Join(", ", b.Select(v => v.ToString(CultureInfo.InvariantCulture)))}] needs finite numbers and a positive width "
                        + $"and height (COCO boxes are x, y, width, height)");
            if (a.IsCrowd != 0 && crowd == CrowdAnnotations.Skip)
                continue;
            if (a.Area is double given && !(given >= 0 && double.IsFinite(given)))
                throw new DatasetFormatException(jsonPath, place,
                    $"area {given.ToString(CultureInfo.InvariantCulture)} must be a finite number of 0 or more");
            entry.Labels.Add(name);
            entry.Boxes.AddRange(new[] { (float)b[0], (float)b[1], (float)(b[0] + b[2]), (float)(b[1] + b[3]) });
            entry.Crowd.Add(a.IsCrowd != 0);
            entry.Area.Add(a.Area ?? b[2] * b[3]);
        }
        var records = file.Images.Select(i => images[i.Id]).Select(e => new DetectionRecord
        {
            ImagePath = e.Image.FileName!,
            Label = e.Labels.ToArray(),
            BoundingBoxes = e.Boxes.ToArray(),
            IsCrowd = e.Crowd.Any(c => c) ? e.Crowd.ToArray() : Array.Empty<bool>(),
            Area = e.Area.ToArray(),
            ImageId = e.Image.Id,
        }).ToList();
        return (records, categories.Select(c => c.Name!).ToList());
    }

    private static void NoNullEntries<T>(string jsonPath, string array, List<T>? items) where T : class
    {
        int index = items?.IndexOf(null!) ?? -1;
        if (index >= 0)
            throw new DatasetFormatException(jsonPath, $"\"{array}\"[{index}]", "is null; each entry must be an object");
    }

    /// <summary>
    /// Writes records as COCO JSON: category ids 1..K in the order of <paramref name="classNames"/>, image sizes read from
    /// the image headers under <paramref name="imageFolder"/>, boxes as x, y, width, height with their area.
    /// </summary>
    public static void Write(string jsonPath, IEnumerable<DetectionRecord> records, IReadOnlyList<string> classNames, string imageFolder)
    {
        var ids = classNames.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i + 1L);
        var file = new CocoFile { Images = new(), Annotations = new(), Categories = classNames.Select((n, i) => new CocoCategory { Id = i + 1,
            Name = n }).ToList() };
        long imageId = 0, annotationId = 0;
        foreach (var r in records)
        {
            imageId++;
            using var codec = SKCodec.Create(Path.Combine(imageFolder, r.ImagePath))
                ?? throw new DatasetFormatException(Path.Combine(imageFolder, r.ImagePath), "image", "cannot be read to get its size");
            file.Images.Add(new CocoImage { Id = imageId, FileName = r.ImagePath, Width = codec.Info.Width, Height = codec.Info.Height });
            for (int k = 0; k < r.Label.Length; k++)
            {
                if (!ids.TryGetValue(r.Label[k], out long category))
                    throw new DatasetFormatException(r.ImagePath, $"object {k}", $"label '{r.Label[k]}' is not one of the class names");
                // width and height in double: the difference of two floats is exact there, so x + width reads back as x1 exactly
                double x0 = r.BoundingBoxes[4 * k], y0 = r.BoundingBoxes[4 * k + 1], w = r.BoundingBoxes[4 * k + 2] - x0, h = r.BoundingBoxes[4 * k
                    + 3] - y0;
                file.Annotations.Add(new CocoAnnotation { Id = ++annotationId, ImageId = imageId, CategoryId = category, Bbox = new[] { x0, y0, w,
                    h }, Area = w * h });
            }
        }
        SafeFile.Write(jsonPath, stream => JsonSerializer.Serialize(stream, file,
            new JsonSerializerOptions { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull }));
    }
}

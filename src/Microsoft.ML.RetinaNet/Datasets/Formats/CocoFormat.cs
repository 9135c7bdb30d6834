using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML.RetinaNet.Runtime;
using SkiaSharp;

namespace Microsoft.ML.RetinaNet.Datasets.Formats;

/// <summary>
/// COCO detection JSON (<c>images</c>, <c>annotations</c> with <c>bbox</c> = x, y, width, height, <c>categories</c> with ids
/// that need not be contiguous) to and from <see cref="DetectionRecord"/>s. Read strictly for training by the one COCO
/// reader (<see cref="CocoAnnotations"/>); the images themselves are not opened (LoadImages does that lazily). Class names
/// come from the categories in the order of their ids.
/// </summary>
public static class CocoFormat
{
    // What Write serialises.
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
        var coco = CocoAnnotations.Read(jsonPath, CocoReading.Strict);
        var names = coco.Categories.ToDictionary(c => c.Id, c => c.Name);
        var images = coco.Images.ToDictionary(i => i.Id, _ => (Labels: new List<string>(), Boxes: new List<float>(), Crowd: new List<bool>(),
            Area: new List<double>()));
        foreach (var a in coco.Annotations)
        {
            if (a.Crowd && crowd == CrowdAnnotations.Skip)
                continue;
            var entry = images[a.ImageId];
            var b = a.Bbox;
            entry.Labels.Add(names[a.CategoryId]);
            entry.Boxes.AddRange(new[] { (float)b[0], (float)b[1], (float)(b[0] + b[2]), (float)(b[1] + b[3]) });
            entry.Crowd.Add(a.Crowd);
            entry.Area.Add(a.Area ?? b[2] * b[3]);
        }
        var records = coco.Images.Select(i => (Image: i, Entry: images[i.Id])).Select(e => new DetectionRecord
        {
            ImagePath = e.Image.FileName!,
            Label = e.Entry.Labels.ToArray(),
            BoundingBoxes = e.Entry.Boxes.ToArray(),
            IsCrowd = e.Entry.Crowd.Any(c => c) ? e.Entry.Crowd.ToArray() : Array.Empty<bool>(),
            Area = e.Entry.Area.ToArray(),
            ImageId = e.Image.Id,
        }).ToList();
        return (records, coco.Categories.Select(c => c.Name).ToList());
    }

    /// <summary>
    /// The ids a COCO results file for this annotation file must use: image ids by file name (the name without folders)
    /// and category ids by category name, read as pycocotools reads ground truth.
    /// </summary>
    public static CocoIds ReadIds(string jsonPath)
    {
        var coco = CocoAnnotations.Read(jsonPath, CocoReading.Lenient);
        var images = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var image in coco.Images.Where(i => !string.IsNullOrEmpty(i.FileName)))
            images[Path.GetFileName(image.FileName!)] = image.Id;
        return new CocoIds(images, coco.Categories.ToDictionary(c => c.Name, c => c.Id, StringComparer.Ordinal));
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

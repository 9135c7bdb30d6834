using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.RetinaNet.Datasets.Formats;

/// <summary>How a COCO annotation file is read.</summary>
internal enum CocoReading
{
    /// <summary>
    /// For training: every image needs a <c>file_name</c>, every category a name, every bbox a positive width and height,
    /// every given area a finite value of 0 or more.
    /// </summary>
    Strict,

    /// <summary>
    /// As pycocotools reads ground truth for evaluation: file names and category names may be missing (a category is then
    /// named by its id), a bbox may have a width or height of 0.
    /// </summary>
    Lenient,
}

/// <summary>One image entry: its id, file name (null when absent in lenient reading), width and height (0 when absent).</summary>
internal sealed record CocoImageEntry(long Id, string? FileName, int Width, int Height);

/// <summary>One category: id and name.</summary>
internal sealed record CocoCategoryEntry(long Id, string Name);

/// <summary>
/// One annotation as the JSON numbers are (doubles): where it is in the file (for messages), its image and category ids,
/// bbox x, y, width, height, the area when given, and whether it is a crowd region.
/// </summary>
internal sealed record CocoAnnotationEntry(string Place, long ImageId, long CategoryId, double[] Bbox, double? Area, bool Crowd);

/// <summary>
/// The one reader of COCO annotation files: images, categories and annotations with their ids, the numbers kept as the
/// JSON has them (doubles), every reference and duplicate id checked. Read as a stream into compact objects (a COCO
/// training file of hundreds of megabytes is never a document tree). <see cref="CocoFormat"/> turns it into training
/// records, the results-file evaluation and the CLI's <c>score --coco-results</c> use it as pycocotools would.
/// </summary>
internal sealed class CocoAnnotations
{
    private sealed class FileDto
    {
        [JsonPropertyName("images")] public List<ImageDto?>? Images { get; set; }
        [JsonPropertyName("annotations")] public List<AnnotationDto?>? Annotations { get; set; }
        [JsonPropertyName("categories")] public List<CategoryDto?>? Categories { get; set; }
    }

    private sealed class ImageDto
    {
        [JsonPropertyName("id")] public double? Id { get; set; }
        [JsonPropertyName("file_name")] public string? FileName { get; set; }
        [JsonPropertyName("width")] public double? Width { get; set; }
        [JsonPropertyName("height")] public double? Height { get; set; }
    }

    private sealed class AnnotationDto
    {
        [JsonPropertyName("id")] public double? Id { get; set; }
        [JsonPropertyName("image_id")] public double? ImageId { get; set; }
        [JsonPropertyName("category_id")] public double? CategoryId { get; set; }
        [JsonPropertyName("bbox")] public double[]? Bbox { get; set; }
        [JsonPropertyName("iscrowd")] public double? IsCrowd { get; set; }
        [JsonPropertyName("area")] public double? Area { get; set; }
    }

    private sealed class CategoryDto
    {
        [JsonPropertyName("id")] public double? Id { get; set; }
        [JsonPropertyName("name")] public string? Name { get; set; }
    }

    private CocoAnnotations(List<CocoImageEntry> images, List<CocoCategoryEntry> categories, List<CocoAnnotationEntry> annotations)
    {
        Images = images;
        Categories = categories;
        Annotations = annotations;
    }

    /// <summary>Every image, in file order.</summary>
    public IReadOnlyList<CocoImageEntry> Images { get; }

    /// <summary>Every category, in ascending id (the order of the class names).</summary>
    public IReadOnlyList<CocoCategoryEntry> Categories { get; }

    /// <summary>Every annotation, in file order (crowd regions included).</summary>
    public IReadOnlyList<CocoAnnotationEntry> Annotations { get; }

    public static CocoAnnotations Read(string jsonPath, CocoReading reading)
    {
        if (!File.Exists(jsonPath))
            throw new FileNotFoundException($"'{jsonPath}' does not exist.", jsonPath);
        FileDto file;
        try
        {
            using var stream = File.OpenRead(jsonPath);
            file = JsonSerializer.Deserialize<FileDto>(stream) ?? throw new DatasetFormatException(jsonPath, "top level", "the file is empty (null)");
        }
        catch (JsonException e)
        {
            string place = e.LineNumber is long line ? $"line {line + 1}, byte {e.BytePositionInLine + 1}" : "JSON";
            throw new DatasetFormatException(jsonPath, place, $"not valid COCO JSON: {e.Message}", e);
        }
        if (file.Images is null) throw new DatasetFormatException(jsonPath, "top level", "has no \"images\" array");
        if (file.Categories is null || file.Categories.Count == 0)
            throw new DatasetFormatException(jsonPath, "top level", "has no \"categories\"; a detector needs at least one");
        NoNullEntries(jsonPath, "images", file.Images);
        NoNullEntries(jsonPath, "categories", file.Categories);
        NoNullEntries(jsonPath, "annotations", file.Annotations);

        var categories = new List<CocoCategoryEntry>();
        var categoryIds = new HashSet<long>();
        for (int i = 0; i < file.Categories.Count; i++)
        {
            var c = file.Categories[i]!;
            long id = Whole(jsonPath, c.Id, "id", $"\"categories\"[{i}]");
            string? name = string.IsNullOrWhiteSpace(c.Name) ? null : c.Name;
            if (name is null && reading == CocoReading.Strict)
                throw new DatasetFormatException(jsonPath, $"category id {id}", "has no name");
            if (!categoryIds.Add(id)) throw new DatasetFormatException(jsonPath, $"category id {id}", "appears twice");
            categories.Add(new CocoCategoryEntry(id, name ?? id.ToString(CultureInfo.InvariantCulture)));
        }
        categories.Sort((a, b) => a.Id.CompareTo(b.Id));

        var images = new List<CocoImageEntry>(file.Images.Count);
        var imageIds = new HashSet<long>();
        for (int i = 0; i < file.Images.Count; i++)
        {
            var image = file.Images[i]!;
            long id = Whole(jsonPath, image.Id, "id", $"\"images\"[{i}]");
            if (string.IsNullOrWhiteSpace(image.FileName) && reading == CocoReading.Strict)
                throw new DatasetFormatException(jsonPath, $"image id {id}", "has no file_name");
            if (!imageIds.Add(id)) throw new DatasetFormatException(jsonPath, $"image id {id}", "appears twice");
            images.Add(new CocoImageEntry(id, image.FileName, Size(image.Width), Size(image.Height)));
        }

        var annotations = new List<CocoAnnotationEntry>(file.Annotations?.Count ?? 0);
        for (int i = 0; i < (file.Annotations?.Count ?? 0); i++)
        {
            var a = file.Annotations![i]!;
            string place = a.Id is double annotationId ? $"annotation "
                + $"id {annotationId.ToString(CultureInfo.InvariantCulture)}" : $"\"annotations\"[{i}]";
            long imageId = Whole(jsonPath, a.ImageId, "image_id", place);
            long categoryId = Whole(jsonPath, a.CategoryId, "category_id", place);
            if (!imageIds.Contains(imageId))
                throw new DatasetFormatException(jsonPath, place, $"refers to image id {imageId}, which is not in \"images\"");
            if (!categoryIds.Contains(categoryId))
                throw new DatasetFormatException(jsonPath, place, $"refers to category id {categoryId}, which is not in \"categories\"");
            if (a.Bbox is not { Length: 4 } b)
                throw new DatasetFormatException(jsonPath, place, "needs a bbox of 4 numbers: x, y, width, height");
            bool sizeOk = reading == CocoReading.Strict ? b[2] > 0 && b[3] > 0 : b[2] >= 0 && b[3] >= 0;
            if (!sizeOk || b.Any(v => !double.IsFinite(v)))
                throw new DatasetFormatException(jsonPath, place,
                    $"bbox [{string.Join(", ", b.Select(v => v.ToString(CultureInfo.InvariantCulture)))}] needs finite numbers and a "
                    + (reading == CocoReading.Strict ? "positive width and height" : "width and height of 0 or more")
                    + " (COCO boxes are x, y, width, height)");
            if (a.Area is double given && !(given >= 0 && double.IsFinite(given)))
                throw new DatasetFormatException(jsonPath, place,
                    $"area {given.ToString(CultureInfo.InvariantCulture)} must be a finite number of 0 or more");
            annotations.Add(new CocoAnnotationEntry(place, imageId, categoryId, b, a.Area, a.IsCrowd is double crowd && crowd != 0));
        }
        return new CocoAnnotations(images, categories, annotations);
    }

    private static int Size(double? value) => value is double v && v >= 0 && v <= int.MaxValue ? (int)v : 0;

    /// <summary>An id: a whole number (1 and 1.0 alike, as Python reads them), or a clear error naming the place.</summary>
    private static long Whole(string path, double? value, string name, string place)
    {
        if (value is not double d)
            throw new DatasetFormatException(path, place, $"needs a number \"{name}\"");
        if (d != Math.Floor(d) || Math.Abs(d) >= 9e15)
            throw new DatasetFormatException(path, place, $"\"{name}\" {d.ToString(CultureInfo.InvariantCulture)} is not a whole number");
        return (long)d;
    }

    private static void NoNullEntries<T>(string jsonPath, string array, List<T?>? items) where T : class
    {
        int index = items?.IndexOf(null) ?? -1;
        if (index >= 0)
            throw new DatasetFormatException(jsonPath, $"\"{array}\"[{index}]", "is null; each entry must be an object");
    }
}

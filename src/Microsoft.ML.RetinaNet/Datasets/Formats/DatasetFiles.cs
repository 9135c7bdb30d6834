namespace Microsoft.ML.RetinaNet.Datasets.Formats;

/// <summary>One entry point for the readers: records with paths relative to the image folder, and the class names.</summary>
public static class DatasetFiles
{
    /// <summary>
    /// Reads annotations of <paramref name="format"/> at <paramref name="annotations"/> for images in
    /// <paramref name="imageFolder"/>. COCO keeps its image ids (and, with <paramref name="crowd"/> = Keep, its crowd
    /// regions flagged); the other formats number their images from 1 in file order.
    /// </summary>
    public static (List<DetectionRecord> Records, IReadOnlyList<string> ClassNames) Read(AnnotationFormat format, string annotations,
        string imageFolder,
        CrowdAnnotations crowd = CrowdAnnotations.Skip)
    {
        if (!File.Exists(annotations) && !Directory.Exists(annotations))
            throw new FileNotFoundException($"Annotations '{annotations}' do not exist.", annotations);
        if (format == AnnotationFormat.Coco)
            return CocoFormat.Read(annotations, crowd);
        var (records, classNames) = ReadOther(format, annotations, imageFolder);
        for (int i = 0; i < records.Count; i++)
            records[i].ImageId = i + 1;
        return (records, classNames);
    }

    private static (List<DetectionRecord> Records, IReadOnlyList<string> ClassNames) ReadOther(AnnotationFormat format, string annotations,
        string imageFolder)
    {
        switch (format)
        {
            case AnnotationFormat.Voc:
                return VocFormat.Read(annotations);
            case AnnotationFormat.Csv:
                string classes = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(annotations))!, "classes.csv");
                return CsvFormat.Read(annotations, File.Exists(classes) ? classes : null);
            case AnnotationFormat.Yolo:
                string? names = new[] { "classes.txt", "names.txt" }
                    .SelectMany(n => new[] { Path.Combine(annotations, n), Path.Combine(Path.GetDirectoryName(Path.GetFullPath(annotations))!, n) })
                    .FirstOrDefault(File.Exists);
                return YoloFormat.Read(imageFolder, annotations,
                    names ?? throw new FileNotFoundException($"YOLO labels in '{annotations}' need a classes.txt or names.txt with one class name "
                        + $"per line, in or beside that folder."));
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown annotation format.");
        }
    }
}

namespace Microsoft.ML.RetinaNet.Datasets;

/// <summary>The image files of a folder, as the readers and the tool take them.</summary>
public static class ImageFiles
{
    /// <summary>File extensions counted as images: .png, .jpg, .jpeg, .bmp.</summary>
    public static IReadOnlyList<string> Extensions { get; } = new[] { ".png", ".jpg", ".jpeg", ".bmp" };

    /// <summary>Full paths of the images directly in <paramref name="folder"/>, in ordinal order of name.</summary>
    public static List<string> In(string folder)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Image folder '{folder}' does not exist.");
        return Directory.EnumerateFiles(folder).Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .OrderBy(f => f, StringComparer.Ordinal).ToList();
    }
}

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

    /// <summary>
    /// Why the image file at <paramref name="path"/> cannot be scored, in the decoder's words, or null when it decodes to
    /// the last row: missing, empty (0 bytes), not an image the decoder knows, truncated (the decoder ran out of data:
    /// a half-written or cut-off file decodes partly, and a detector would score the grey rest), or damaged.
    /// </summary>
    public static string? Problem(string path)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
            return "the file does not exist";
        if (file.Length == 0)
            return "the file is empty (0 bytes)";
        using var codec = SkiaSharp.SKCodec.Create(path, out SkiaSharp.SKCodecResult opened);
        if (codec is null)
            return opened == SkiaSharp.SKCodecResult.Unimplemented
                ? $"not an image: no decoder recognises its contents ({file.Length} bytes)"
                : $"not an image the decoder can read ({opened}; {file.Length} bytes)";
        var info = new SkiaSharp.SKImageInfo(codec.Info.Width, codec.Info.Height, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Premul);
        if (info.Width <= 0 || info.Height <= 0)
            return $"the image has no pixels ({info.Width}×{info.Height})";
        using var bitmap = new SkiaSharp.SKBitmap(info);
        var decoded = codec.GetPixels(info, bitmap.GetPixels());
        return decoded switch
        {
            SkiaSharp.SKCodecResult.Success => null,
            SkiaSharp.SKCodecResult.IncompleteInput
                => $"truncated: the decoder ran out of data before the last row (IncompleteInput; {file.Length} bytes)",
            _ => $"the decoder failed ({decoded})",
        };
    }
}

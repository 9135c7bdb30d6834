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
        using var bitmap = Decode(path, out string? problem);
        return problem;
    }

    /// <summary>
    /// The image at <paramref name="path"/> decoded whole (BGRA, unpremultiplied: the pixels ML.NET's <c>LoadImages</c>
    /// gives), or null with <paramref name="problem"/> saying why it cannot be used, as <see cref="Problem"/> says it. One
    /// decode serves both the check and the use.
    /// </summary>
    public static SkiaSharp.SKBitmap? Decode(string path, out string? problem)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
            return Fail("the file does not exist", out problem);
        if (file.Length == 0)
            return Fail("the file is empty (0 bytes)", out problem);
        using var codec = SkiaSharp.SKCodec.Create(path, out SkiaSharp.SKCodecResult opened);
        if (codec is null)
            return Fail(opened == SkiaSharp.SKCodecResult.Unimplemented
                ? $"not an image: no decoder recognises its contents ({file.Length} bytes)"
                : $"not an image the decoder can read ({opened}; {file.Length} bytes)", out problem);
        var info = new SkiaSharp.SKImageInfo(codec.Info.Width, codec.Info.Height, SkiaSharp.SKColorType.Bgra8888, SkiaSharp.SKAlphaType.Unpremul);
        if (info.Width <= 0 || info.Height <= 0)
            return Fail($"the image has no pixels ({info.Width}×{info.Height})", out problem);
        var bitmap = new SkiaSharp.SKBitmap(info);
        var decoded = codec.GetPixels(info, bitmap.GetPixels());
        problem = decoded switch
        {
            SkiaSharp.SKCodecResult.Success => null,
            SkiaSharp.SKCodecResult.IncompleteInput
                => $"truncated: the decoder ran out of data before the last row (IncompleteInput; {file.Length} bytes)",
            _ => $"the decoder failed ({decoded})",
        };
        if (problem is null)
            return bitmap;
        bitmap.Dispose();
        return null;
    }

    private static SkiaSharp.SKBitmap? Fail(string why, out string? problem)
    {
        problem = why;
        return null;
    }
}

using System.Globalization;
using SkiaSharp;

namespace Microsoft.ML.RetinaNet.Datasets.Formats;

/// <summary>
/// YOLO txt labels: for each image, a .txt file of the same name in the labels folder, one object per line
/// <c>class cx cy w h</c> normalised to [0, 1] by the image's size (read from the image header); a missing or empty file is
/// an image without objects. Class names come from a names file, one per line (class i on line i + 1).
/// </summary>
public static class YoloFormat
{
    /// <summary>Records for every image in <paramref name="imageFolder"/> (paths relative to it), sorted by file name.</summary>
    public static (List<DetectionRecord> Records, IReadOnlyList<string> ClassNames) Read(string imageFolder, string labelFolder, string namesPath)
    {
        var names = File.ReadLines(namesPath).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        if (names.Count == 0) throw new DatasetFormatException(namesPath, "names file", "lists no class");
        var records = new List<DetectionRecord>();
        foreach (string image in ImageFiles.In(imageFolder))
        {
            string labels = Path.Combine(labelFolder, Path.GetFileNameWithoutExtension(image) + ".txt");
            var record = new DetectionRecord { ImagePath = Path.GetFileName(image) };
            if (File.Exists(labels))
            {
                using var codec = SKCodec.Create(image) ?? throw new DatasetFormatException(image, "image", "cannot be read to get its size");
                int width = codec.Info.Width, height = codec.Info.Height;
                var classes = new List<string>();
                var boxes = new List<float>();
                int lineNumber = 0;
                foreach (string raw in File.ReadLines(labels))
                {
                    lineNumber++;
                    var f = raw.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                    if (f.Length == 0) continue;
                    if (f.Length != 5) throw new DatasetFormatException(labels, $"line {lineNumber}",
                        $"has {f.Length} fields; expected 5: class cx cy w h");
                    if (!int.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int cls) || cls < 0 || cls >= names.Count)
                        throw new DatasetFormatException(labels, $"line {lineNumber}",
                            $"class '{f[0]}' is not an index into the {names.Count} names of {namesPath}");
                    var v = new double[4];
                    for (int i = 0; i < 4; i++)
                        if (!double.TryParse(f[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out v[i]) || !(v[i] >= 0 && v[i] <= 1))
                            throw new DatasetFormatException(labels, $"line {lineNumber}",
                                $"'{f[i + 1]}' must be a number in [0, 1] (YOLO coordinates are normalised by the image size)");
                    if (!(v[2] > 0) || !(v[3] > 0)) throw new DatasetFormatException(labels, $"line {lineNumber}",
                        "width and height must be positive");
                    classes.Add(names[cls]);
                    boxes.AddRange(new[] { (float)((v[0] - v[2] / 2) * width), (float)((v[1] - v[3] / 2) * height), (float)((v[0]
                        + v[2] / 2) * width), (float)((v[1] + v[3] / 2) * height) });
                }
                record.Label = classes.ToArray();
                record.BoundingBoxes = boxes.ToArray();
            }
            records.Add(record);
        }
        return (records, names);
    }
}

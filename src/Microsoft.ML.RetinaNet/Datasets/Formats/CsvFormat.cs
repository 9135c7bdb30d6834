using System.Globalization;
using Microsoft.ML.RetinaNet.Runtime;

namespace Microsoft.ML.RetinaNet.Datasets.Formats;

/// <summary>
/// The common CSV annotation form, one object per line: <c>path,x1,y1,x2,y2,class</c> (pixels); a line
/// <c>path,,,,,</c> is an image without objects. Lines of the same image are merged in order of first appearance. An
/// optional classes file (<c>name,id</c> per line) fixes the class order; otherwise classes come in order of appearance.
/// </summary>
public static class CsvFormat
{
    /// <summary>Reads the records and the class names, streaming the file line by line.</summary>
    public static (List<DetectionRecord> Records, IReadOnlyList<string> ClassNames) Read(string csvPath, string? classesPath = null)
    {
        var classes = classesPath is null ? new List<string>() : ReadClasses(classesPath);
        bool fixedClasses = classesPath is not null;
        var byImage = new Dictionary<string, (List<string> Labels, List<float> Boxes)>();
        var order = new List<string>();
        int lineNumber = 0;
        foreach (string raw in File.ReadLines(csvPath))
        {
            lineNumber++;
            string line = raw.Trim();
            if (line.Length == 0) continue;
            var f = line.Split(',');
            if (f.Length != 6)
                throw new DatasetFormatException(csvPath, $"line {lineNumber}",
                    $"has {f.Length} fields; expected 6: path,x1,y1,x2,y2,class (or path,,,,, for an image without objects)");
            string path = f[0].Trim();
            if (path.Length == 0) throw new DatasetFormatException(csvPath, $"line {lineNumber}", "has no image path");
            if (!byImage.TryGetValue(path, out var entry))
            {
                byImage[path] = entry = (new List<string>(), new List<float>());
                order.Add(path);
            }
            if (f.Skip(1).All(v => v.Trim().Length == 0))
                continue; // an image without objects
            var coordinates = new float[4];
            for (int i = 0; i < 4; i++)
                if (!float.TryParse(f[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out coordinates[i])
                    || !float.IsFinite(coordinates[i]))
                    throw new DatasetFormatException(csvPath, $"line {lineNumber}",
                        $"'{f[i + 1]}' is not a number (field {i + 2}, {new[] { "x1", "y1", "x2", "y2" }[i]})");
            if (coordinates[2] <= coordinates[0] || coordinates[3] <= coordinates[1])
                throw new DatasetFormatException(csvPath, $"line {lineNumber}", $"box [{string.Join(", ", coordinates)}] needs x2 > x1 and y2 > y1");
            string label = f[5].Trim();
            if (label.Length == 0) throw new DatasetFormatException(csvPath, $"line {lineNumber}", "has a box but no class");
            if (!classes.Contains(label))
            {
                if (fixedClasses) throw new DatasetFormatException(csvPath, $"line {lineNumber}", $"class '{label}' is not in {classesPath}");
                classes.Add(label);
            }
            entry.Labels.Add(label);
            entry.Boxes.AddRange(coordinates);
        }
        var records = order.Select(p => new DetectionRecord { ImagePath = p, Label = byImage[p].Labels.ToArray(),
            BoundingBoxes = byImage[p].Boxes.ToArray() }).ToList();
        return (records, classes);
    }

    /// <summary>Writes one line per object, and <c>path,,,,,</c> for an image without objects.</summary>
    public static void Write(string csvPath, IEnumerable<DetectionRecord> records)
    {
        SafeFile.Write(csvPath, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            foreach (var r in records)
            {
                if (r.Label.Length == 0) writer.WriteLine($"{r.ImagePath},,,,,");
                for (int k = 0; k < r.Label.Length; k++)
                    writer.WriteLine(string.Join(",", new[] { r.ImagePath }.Concat(r.BoundingBoxes.Skip(4 * k).Take(4).Select(v => v.ToString("R",
                        CultureInfo.InvariantCulture))).Append(r.Label[k])));
            }
        });
    }

    private static List<string> ReadClasses(string path)
    {
        var entries = new List<(string Name, int Id)>();
        int lineNumber = 0;
        foreach (string raw in File.ReadLines(path))
        {
            lineNumber++;
            if (raw.Trim().Length == 0) continue;
            var f = raw.Split(',');
            if (f.Length != 2 || !int.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int id))
                throw new DatasetFormatException(path, $"line {lineNumber}", "expected name,id");
            entries.Add((f[0].Trim(), id));
        }
        return entries.OrderBy(e => e.Id).Select(e => e.Name).ToList();
    }
}

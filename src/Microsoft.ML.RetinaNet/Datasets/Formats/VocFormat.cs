using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace Microsoft.ML.RetinaNet.Datasets.Formats;

/// <summary>
/// Pascal VOC annotations: a folder of XML files, each with <c>filename</c> and <c>object</c> elements (<c>name</c>,
/// <c>difficult</c>, <c>bndbox</c> with <c>xmin ymin xmax ymax</c>). The difficult flag is kept in
/// <see cref="DetectionRecord.Difficult"/>. Classes come sorted by name unless a list is given.
/// </summary>
public static class VocFormat
{
    /// <summary>Records of every .xml file in <paramref name="annotationFolder"/>, sorted by file name.</summary>
    public static (List<DetectionRecord> Records, IReadOnlyList<string> ClassNames) Read(string annotationFolder,
        IReadOnlyList<string>? classNames = null)
    {
        var records = new List<DetectionRecord>();
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(annotationFolder, "*.xml").OrderBy(f => f, StringComparer.Ordinal))
        {
            XDocument document;
            try
            {
                document = XDocument.Load(file, LoadOptions.SetLineInfo);
            }
            catch (XmlException e)
            {
                throw new DatasetFormatException(file, $"line {e.LineNumber}", $"not well-formed XML: {e.Message}", e);
            }
            var root = document.Root!;
            string? fileName = root.Element("filename")?.Value.Trim();
            if (string.IsNullOrEmpty(fileName)) throw new DatasetFormatException(file, "annotation", "has no <filename>");
            var labels = new List<string>();
            var boxes = new List<float>();
            var difficult = new List<bool>();
            foreach (var obj in root.Elements("object"))
            {
                string place = $"line {((IXmlLineInfo)obj).LineNumber}";
                string? name = obj.Element("name")?.Value.Trim();
                if (string.IsNullOrEmpty(name)) throw new DatasetFormatException(file, place, "an <object> has no <name>");
                if (classNames != null && !classNames.Contains(name)) throw new DatasetFormatException(file, place,
                    $"class '{name}' is not in the given class list");
                var box = obj.Element("bndbox") ?? throw new DatasetFormatException(file, place, "an <object> has no <bndbox>");
                var v = new[] { "xmin", "ymin", "xmax", "ymax" }.Select(tag =>
                {
                    string? text = box.Element(tag)?.Value;
                    return float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) && float.IsFinite(value)
                        ? value : throw new DatasetFormatException(file, place, $"<{tag}> is '{text}', not a number");
                }).ToArray();
                if (v[2] <= v[0] || v[3] <= v[1]) throw new DatasetFormatException(file, place,
                    $"box [{string.Join(", ", v)}] needs xmax > xmin and ymax > ymin");
                labels.Add(name);
                boxes.AddRange(v);
                difficult.Add(obj.Element("difficult")?.Value.Trim() == "1");
                seen.Add(name);
            }
            records.Add(new DetectionRecord { ImagePath = fileName, Label = labels.ToArray(), BoundingBoxes = boxes.ToArray(),
                Difficult = difficult.ToArray() });
        }
        return (records, classNames ?? seen.ToList());
    }
}

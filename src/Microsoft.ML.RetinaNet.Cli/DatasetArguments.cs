using System.CommandLine;
using Microsoft.ML;
using Microsoft.ML.RetinaNet.Datasets;
using Microsoft.ML.RetinaNet.Datasets.Formats;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>The --format/--annotations/--images options, and turning them into the trainer's columns.</summary>
internal sealed class DatasetArguments
{
    private sealed class ClassRow
    {
        public string Name { get; set; } = "";
    }

    public DatasetArguments(string prefix, bool required)
    {
        Format = new Option<AnnotationFormat>($"--{prefix}format") { Description = "annotation format: Coco, Voc, Csv or Yolo",
            DefaultValueFactory = _ => AnnotationFormat.Coco };
        Annotations = new Option<string>($"--{prefix}annotations") { Description = "COCO .json, VOC folder, .csv file or YOLO labels folder",
            Required = required };
        Images = new Option<string>($"--{prefix}images") { Description = "folder the image paths are relative to", Required = required };
    }

    public Option<AnnotationFormat> Format { get; }
    public Option<string> Annotations { get; }
    public Option<string> Images { get; }

    public IEnumerable<Option> All => new Option[] { Format, Annotations, Images };

    public bool Given(ParseResult parse) => parse.GetValue(Annotations) != null;

    public (List<DetectionRecord> Records, IReadOnlyList<string> ClassNames, string Folder) Read(ParseResult parse,
        CrowdAnnotations crowd = CrowdAnnotations.Skip)
    {
        string folder = parse.GetValue(Images) ?? throw new ArgumentException($"{Images.Name} is needed with {Annotations.Name}.");
        var (records, classes) = DatasetFiles.Read(parse.GetValue(Format), parse.GetValue(Annotations)!, folder, crowd);
        return (records, classes, folder);
    }

    /// <summary>Label keys in the order of <paramref name="classNames"/>, then the images loaded from <paramref name="folder"/>.</summary>
    public static IDataView Prepare(MLContext ml, IEnumerable<DetectionRecord> records, IReadOnlyList<string> classNames, string folder)
    {
        var raw = ml.Data.LoadFromEnumerable(records);
        var keys = ml.Data.LoadFromEnumerable(classNames.Select(n => new ClassRow { Name = n }));
        return ml.Transforms.Conversion.MapValueToKey("Label", keyData: keys)
            .Append(ml.Transforms.LoadImages("Image", folder, nameof(DetectionRecord.ImagePath)))
            .Fit(raw).Transform(raw);
    }
}

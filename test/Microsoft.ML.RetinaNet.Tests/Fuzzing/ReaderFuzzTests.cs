using System.Text;
using CsCheck;
using Microsoft.ML.RetinaNet.Datasets;
using Microsoft.ML.RetinaNet.Datasets.Formats;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.RetinaNet.Tests.Fuzzing;

/// <summary>
/// Random mutations of valid COCO, VOC, CSV and YOLO files: each reader either reads the file — and then every record
/// has four finite coordinates per label — or throws <see cref="DatasetFormatException"/>; never another exception,
/// never a hang (5 s per case), never more than 64 MB allocated for a file of a few hundred bytes.
/// </summary>
public sealed class ReaderFuzzTests : IDisposable
{
    private const long Cases = 600;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private const long MaxAllocated = 64L << 20;

    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-fuzz-").FullName;
    private readonly ITestOutputHelper _output;
    private int _accepted, _rejected;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _distinct = new();

    public ReaderFuzzTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Coco = """
        {"images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48}, {"id": 7, "file_name": "b.png", "width": 64, "height": 48}],
         "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [1.5, 2, 10, 20], "iscrowd": 0, "area": 200},
                         {"id": 2, "image_id": 1, "category_id": 5, "bbox": [30, 4, 8, 8], "iscrowd": 1, "area": 64},
                         {"id": 3, "image_id": 7, "category_id": 5, "bbox": [0, 0, 64, 48], "iscrowd": 0, "area": 3072}],
         "categories": [{"id": 3, "name": "cat", "supercategory": "animal"}, {"id": 5, "name": "dog"}]}
        """;

    private const string Voc = """
        <annotation>
          <folder>images</folder><filename>a.png</filename>
          <size><width>64</width><height>48</height><depth>3</depth></size>
          <object><name>cat</name><difficult>0</difficult><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>11.5</xmax><ymax>22</ymax></bndbox></object>
          <object><name>dog</name><difficult>1</difficult><bndbox><xmin>30</xmin><ymin>4</ymin><xmax>38</xmax><ymax>12</ymax></bndbox></object>
        </annotation>
        """;

    private const string Csv = "a.png,1,2,11,22,cat\nb.png,,,,,\na.png,30,4,38,12,dog\nc.png,0.5,0.5,63.5,47.5,cat\n";
    private const string CsvClasses = "cat,0\ndog,1\n";
    private const string YoloLabels = "0 0.5 0.5 0.25 0.5\n1 0.1 0.2 0.05 0.1\n\n";
    private const string YoloNames = "cat\ndog\n";

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private string Case(string name)
    {
        string dir = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }

    private static void CheckRecords(IEnumerable<DetectionRecord> records)
    {
        foreach (var r in records)
        {
            Assert.False(string.IsNullOrEmpty(r.ImagePath));
            Assert.Equal(4 * r.Label.Length, r.BoundingBoxes.Length);
            Assert.All(r.BoundingBoxes, v => Assert.True(float.IsFinite(v), $"coordinate {v} of '{r.ImagePath}'"));
        }
    }

    private void Count(FuzzOutcome outcome)
    {
        if (outcome == FuzzOutcome.Accepted) Interlocked.Increment(ref _accepted);
        else Interlocked.Increment(ref _rejected);
    }

    private void Report(string format)
    {
        _output.WriteLine($"distinct {_distinct.Count}: " + string.Join(" | ", _distinct.Keys.Take(5)));
        _output.WriteLine($"{format}: {_accepted + _rejected} mutated files, {_accepted} read, {_rejected} rejected with DatasetFormatException");
        Assert.Equal(Cases, _accepted + _rejected);
        Assert.True(_rejected > Cases / 10, "the mutations should break most files"); // the fuzzer reaches the error paths
    }

    [Fact]
    public void MutatedCocoFiles()
    {
        Mutations.Of(Utf8(Coco)).Sample(m =>
        {
            string path = Case("instances.json");
            File.WriteAllBytes(path, m.Bytes);
            _distinct.TryAdd(m.Edits, 0);
            Count(BoundedRun.Check<DatasetFormatException>(() => CheckRecords(CocoFormat.Read(path).Records), $"COCO after {m.Edits}", Timeout, MaxAllocated));
        }, iter: Cases);
        Report("COCO");
    }

    [Fact]
    public void MutatedVocFiles()
    {
        Mutations.Of(Utf8(Voc)).Sample(m =>
        {
            string path = Case("a.xml");
            File.WriteAllBytes(path, m.Bytes);
            File.WriteAllText(Path.Combine(Path.GetDirectoryName(path)!, "b.xml"), Voc.Replace("a.png", "b.png", StringComparison.Ordinal));
            Count(BoundedRun.Check<DatasetFormatException>(() => CheckRecords(VocFormat.Read(Path.GetDirectoryName(path)!).Records), $"VOC after {m.Edits}", Timeout, MaxAllocated));
        }, iter: Cases);
        Report("VOC");
    }

    [Fact]
    public void MutatedCsvAndClassesFiles()
    {
        Gen.Select(Mutations.Of(Utf8(Csv)), Mutations.Of(Utf8(CsvClasses)), Gen.Int[0, 2]).Sample(t =>
        {
            var (csv, classes, which) = t;
            string path = Case("boxes.csv");
            string classesPath = Path.Combine(Path.GetDirectoryName(path)!, "classes.csv");
            // 0: mutated CSV alone; 1: mutated CSV with the valid classes file; 2: valid CSV with a mutated classes file
            File.WriteAllBytes(path, which == 2 ? Utf8(Csv) : csv.Bytes);
            File.WriteAllBytes(classesPath, which == 2 ? classes.Bytes : Utf8(CsvClasses));
            string edits = which == 2 ? $"classes file after {classes.Edits}" : $"CSV after {csv.Edits}";
            Count(BoundedRun.Check<DatasetFormatException>(() => CheckRecords(CsvFormat.Read(path, which == 0 ? null : classesPath).Records), edits, Timeout, MaxAllocated));
        }, iter: Cases);
        Report("CSV");
    }

    [Fact]
    public void MutatedYoloFiles()
    {
        string image = Path.Combine(_dir, "a.png");
        using (var bitmap = new SKBitmap(64, 48))
        using (var stream = File.Create(image))
            bitmap.Encode(stream, SKEncodedImageFormat.Png, 100);
        var png = File.ReadAllBytes(image);

        Gen.Select(Mutations.Of(Utf8(YoloLabels)), Mutations.Of(Utf8(YoloNames)), Gen.Bool).Sample(t =>
        {
            var (labels, names, mutateNames) = t;
            string root = Path.GetDirectoryName(Case("x"))!;
            Directory.CreateDirectory(Path.Combine(root, "images"));
            Directory.CreateDirectory(Path.Combine(root, "labels"));
            File.WriteAllBytes(Path.Combine(root, "images", "a.png"), png);
            File.WriteAllBytes(Path.Combine(root, "labels", "a.txt"), mutateNames ? Utf8(YoloLabels) : labels.Bytes);
            File.WriteAllBytes(Path.Combine(root, "classes.txt"), mutateNames ? names.Bytes : Utf8(YoloNames));
            string edits = mutateNames ? $"names file after {names.Edits}" : $"labels after {labels.Edits}";
            Count(BoundedRun.Check<DatasetFormatException>(() => CheckRecords(YoloFormat.Read(Path.Combine(root, "images"), Path.Combine(root, "labels"), Path.Combine(root, "classes.txt")).Records),
                edits, Timeout, MaxAllocated));
        }, iter: Cases);
        Report("YOLO");
    }
}

using System.Text.Json;
using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Datasets;
using Microsoft.ML.RetinaNet.Datasets.Formats;
using Microsoft.ML.RetinaNet.Evaluation;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests.Evaluation;

/// <summary>
/// The evaluator against pycocotools' own numbers (test/fixtures/coco, written by make_coco_fixtures.py from cocoapi's
/// coco.py and cocoeval.py): crowd regions, <c>area</c> fields, image ids out of order, ties, more than 100 detections,
/// double scores; in the results-file mode and through an IDataView with the image id, crowd and area columns; and the
/// rules one at a time on cases computed by hand.
/// </summary>
public sealed class PycocotoolsParityTests
{
    private static readonly MLContext Ml = new(seed: 1);
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "coco", name);

    private sealed record Expected(double[] Stats, Dictionary<string, double> PerClass, Dictionary<string, double> PerClass50);

    private static Expected Read(string name)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Fixture(name)));
        var root = json.RootElement;
        return new Expected(root.GetProperty("stats").EnumerateArray().Select(v => v.GetDouble()).ToArray(),
            root.GetProperty("per_class").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble()),
            root.GetProperty("per_class50").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble()));
    }

    private static void AssertEqual(Expected expected, DetectionMetrics actual, double tolerance = 1e-9)
    {
        var stats = actual.Stats();
        for (int i = 0; i < 12; i++)
            Assert.True(Math.Abs(expected.Stats[i] - stats[i]) <= tolerance, $"stat {i}: pycocotools {expected.Stats[i]:R}, ours {stats[i]:R}");
        foreach (var (name, value) in expected.PerClass)
            Assert.True(Math.Abs(value - actual.PerClassAveragePrecision[name]) <= tolerance, $"AP of {name}: pycocotools {value:R}, ours {actual.PerClassAveragePrecision[name]:R}");
        foreach (var (name, value) in expected.PerClass50)
            Assert.True(Math.Abs(value - actual.PerClassAveragePrecision50[name]) <= tolerance, $"AP50 of {name}: pycocotools {value:R}, ours {actual.PerClassAveragePrecision50[name]:R}");
    }

    [Theory]
    [InlineData("hard")]
    [InlineData("exact")]
    public void TheResultsFileModeComputesWhatPycocotoolsPrints(string name)
    {
        var metrics = Ml.MulticlassClassification.EvaluateCocoResults(Fixture($"{name}-gt.json"), Fixture($"{name}-results.json"));
        AssertEqual(Read($"{name}-expected.json"), metrics);
    }

    // ---- the IDataView path: ground truth read by CocoFormat (Keep), detections from the results file ----

    private sealed class Row
    {
        public long ImageId { get; set; }
        public string[] Label { get; set; } = Array.Empty<string>();
        public float[] BoundingBoxes { get; set; } = Array.Empty<float>();
        public bool[] IsCrowd { get; set; } = Array.Empty<bool>();
        public double[] Area { get; set; } = Array.Empty<double>();
        public string[] PredictedName { get; set; } = Array.Empty<string>();
        public float[] Score { get; set; } = Array.Empty<float>();
        public float[] PredictedBoundingBoxes { get; set; } = Array.Empty<float>();
    }

    private sealed class ClassName
    {
        public string Name { get; set; } = "";
    }

    private static (List<Row> Rows, IReadOnlyList<string> Classes) Rows(string name)
    {
        var (records, classes) = CocoFormat.Read(Fixture($"{name}-gt.json"), CrowdAnnotations.Keep);
        using var gt = JsonDocument.Parse(File.ReadAllText(Fixture($"{name}-gt.json")));
        var categoryNames = gt.RootElement.GetProperty("categories").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetInt64(), c => c.GetProperty("name").GetString()!);
        using var results = JsonDocument.Parse(File.ReadAllText(Fixture($"{name}-results.json")));
        var detections = results.RootElement.EnumerateArray().GroupBy(r => r.GetProperty("image_id").GetInt64()).ToDictionary(g => g.Key, g => g.ToList());
        var rows = records.Select(r =>
        {
            var dts = detections.GetValueOrDefault(r.ImageId) ?? new List<JsonElement>();
            return new Row
            {
                ImageId = r.ImageId, Label = r.Label, BoundingBoxes = r.BoundingBoxes,
                IsCrowd = r.IsCrowd.Length > 0 ? r.IsCrowd : new bool[r.Label.Length], Area = r.Area,
                PredictedName = dts.Select(d => categoryNames[d.GetProperty("category_id").GetInt64()]).ToArray(),
                Score = dts.Select(d => (float)d.GetProperty("score").GetDouble()).ToArray(),
                PredictedBoundingBoxes = dts.SelectMany(d =>
                {
                    var b = d.GetProperty("bbox").EnumerateArray().Select(v => v.GetDouble()).ToArray();
                    return new[] { (float)b[0], (float)b[1], (float)(b[0] + b[2]), (float)(b[1] + b[3]) };
                }).ToArray(),
            };
        }).ToList();
        return (rows, classes);
    }

    private static DetectionMetrics EvaluateRows(IEnumerable<Row> rows, IReadOnlyList<string> classes, bool withColumns = true)
    {
        var keys = Ml.Data.LoadFromEnumerable(classes.Select(c => new ClassName { Name = c }));
        var data = Ml.Data.LoadFromEnumerable(rows);
        var scored = Ml.Transforms.Conversion.MapValueToKey("Label", keyData: keys)
            .Append(Ml.Transforms.Conversion.MapValueToKey("PredictedLabel", "PredictedName", keyData: keys))
            .Fit(data).Transform(data);
        return withColumns
            ? Ml.MulticlassClassification.EvaluateCocoDetection(scored, imageIdColumnName: "ImageId", crowdColumnName: "IsCrowd", areaColumnName: "Area")
            : Ml.MulticlassClassification.EvaluateCocoDetection(scored);
    }

    [Fact]
    public void AScoredDataViewWithTheCocoColumnsComputesWhatPycocotoolsPrints()
    {
        // float-exact values (quarter pixels, scores k/4096): the IDataView's Single columns hold them unchanged
        var (rows, classes) = Rows("exact");
        Assert.Contains(rows, r => r.IsCrowd.Any(c => c));
        Assert.Contains(rows, r => r.Area.Zip(Enumerable.Range(0, r.Label.Length)).Any(p =>
            p.First != (double)(r.BoundingBoxes[4 * p.Second + 2] - r.BoundingBoxes[4 * p.Second]) * (r.BoundingBoxes[4 * p.Second + 3] - r.BoundingBoxes[4 * p.Second + 1])));
        AssertEqual(Read("exact-expected.json"), EvaluateRows(rows, classes));
    }

    [Fact]
    public void ShufflingTheImagesNeverChangesAMetric()
    {
        var (rows, classes) = Rows("exact");
        var reference = EvaluateRows(rows, classes).Stats();
        var random = new Random(3);
        for (int trial = 0; trial < 6; trial++)
        {
            var shuffled = rows.OrderBy(_ => random.Next()).ToList();
            Assert.Equal(reference, EvaluateRows(shuffled, classes).Stats());
        }
        // and in the results-file mode: the same files with images, annotations and results in another order
        string dir = Directory.CreateTempSubdirectory("retinanet-coco-shuffle-").FullName;
        try
        {
            foreach (string name in new[] { "hard", "exact" })
            {
                var expected = Ml.MulticlassClassification.EvaluateCocoResults(Fixture($"{name}-gt.json"), Fixture($"{name}-results.json")).Stats();
                var gt = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Fixture($"{name}-gt.json")))!.AsObject();
                var images = gt["images"]!.AsArray().Select(n => n!.DeepClone()).OrderBy(_ => random.Next()).ToArray();
                gt["images"] = new System.Text.Json.Nodes.JsonArray(images);
                // annotations keep their order within an image (pycocotools breaks equal-IoU ties by it); images interleave anew
                var byImage = gt["annotations"]!.AsArray().Select(n => n!.DeepClone()).GroupBy(n => n["image_id"]!.GetValue<long>()).OrderBy(_ => random.Next());
                gt["annotations"] = new System.Text.Json.Nodes.JsonArray(byImage.SelectMany(g => g).ToArray());
                var results = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Fixture($"{name}-results.json")))!.AsArray()
                    .Select(n => n!.DeepClone()).GroupBy(n => n["image_id"]!.GetValue<long>()).OrderBy(_ => random.Next()).SelectMany(g => g).ToArray();
                File.WriteAllText(Path.Combine(dir, "gt.json"), gt.ToJsonString());
                File.WriteAllText(Path.Combine(dir, "results.json"), new System.Text.Json.Nodes.JsonArray(results).ToJsonString());
                Assert.Equal(expected, Ml.MulticlassClassification.EvaluateCocoResults(Path.Combine(dir, "gt.json"), Path.Combine(dir, "results.json")).Stats());
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // ---- each rule on a case computed by hand ----

    private static Row Image(long id, (string Label, float[] Box, bool Crowd, double? Area)[] objects, (string Label, float[] Box, float Score)[] detections) => new()
    {
        ImageId = id,
        Label = objects.Select(o => o.Label).ToArray(),
        BoundingBoxes = objects.SelectMany(o => o.Box).ToArray(),
        IsCrowd = objects.Select(o => o.Crowd).ToArray(),
        Area = objects.All(o => o.Area is null) ? Array.Empty<double>() : objects.Select(o => o.Area ?? (double)(o.Box[2] - o.Box[0]) * (o.Box[3] - o.Box[1])).ToArray(),
        PredictedName = detections.Select(d => d.Label).ToArray(),
        Score = detections.Select(d => d.Score).ToArray(),
        PredictedBoundingBoxes = detections.SelectMany(d => d.Box).ToArray(),
    };

    private static readonly string[] One = { "a" };

    [Fact]
    public void ADetectionOnACrowdRegionIsIgnored()
    {
        // object A at 300,300 (40²) found exactly at 0.8; a detection at 0.9 inside the crowd region C (0..200): its IoU
        // with C is intersection / detection area = 1, its plain IoU 1600/40000 = 0.04
        float[] a = { 300, 300, 340, 340 }, c = { 0, 0, 200, 200 }, insideC = { 10, 10, 50, 50 };
        var dets = new[] { ("a", insideC, 0.9f), ("a", a, 0.8f) };
        var crowd = Image(1, new[] { ("a", a, false, (double?)null), ("a", c, true, (double?)null) }, dets);
        Assert.Equal(1.0, EvaluateRows(new[] { crowd }, One).MeanAveragePrecision, 12);          // pycocotools
        var skipped = Image(1, new[] { ("a", a, false, (double?)null) }, dets);
        Assert.Equal(0.5, EvaluateRows(new[] { skipped }, One).MeanAveragePrecision, 12);        // FP 0/1 then TP 1/2
        var kept = Image(1, new[] { ("a", a, false, (double?)null), ("a", c, false, (double?)null) }, dets);
        Assert.Equal(51 * 0.5 / 101, EvaluateRows(new[] { kept }, One).MeanAveragePrecision, 12); // recall stops at 1/2
    }

    [Fact]
    public void TheAreaFieldDecidesSmallMediumAndLarge()
    {
        // a 50×50 box whose segmentation area is 900: small for pycocotools, medium by its box
        float[] box = { 0, 0, 50, 50 };
        var withArea = Image(1, new[] { ("a", box, false, (double?)900) }, new[] { ("a", box, 0.9f) });
        var m = EvaluateRows(new[] { withArea }, One);
        Assert.Equal(1.0, m.AveragePrecisionSmall, 12);
        Assert.Equal(-1.0, m.AveragePrecisionMedium); // the detection (2500) matched an object outside the range: ignored
        var byBox = EvaluateRows(new[] { Image(1, new[] { ("a", box, false, (double?)null) }, new[] { ("a", box, 0.9f) }) }, One);
        Assert.Equal(-1.0, byBox.AveragePrecisionSmall);
        Assert.Equal(1.0, byBox.AveragePrecisionMedium, 12);
    }

    [Fact]
    public void AreaBoundsAreInclusiveAndComputedInDouble()
    {
        // [171.28, 73.57, 16, 64]: area exactly 1024 = 32², so small and medium; from float corners it was 1024.000122
        string dir = Directory.CreateTempSubdirectory("retinanet-coco-bounds-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "gt.json"), """
                {"images": [{"id": 1, "file_name": "a.png"}], "categories": [{"id": 1, "name": "a"}],
                 "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [171.28, 73.57, 16, 64], "area": 1024, "iscrowd": 0},
                                 {"id": 2, "image_id": 1, "category_id": 1, "bbox": [300.3, 200.7, 96, 96], "area": 9216, "iscrowd": 0}]}
                """);
            File.WriteAllText(Path.Combine(dir, "results.json"), """
                [{"image_id": 1, "category_id": 1, "bbox": [171.28, 73.57, 16, 64], "score": 0.9},
                 {"image_id": 1, "category_id": 1, "bbox": [300.3, 200.7, 96, 96], "score": 0.8}]
                """);
            var m = Ml.MulticlassClassification.EvaluateCocoResults(Path.Combine(dir, "gt.json"), Path.Combine(dir, "results.json"));
            Assert.Equal(1.0, m.AveragePrecisionSmall, 12);   // 1024 ≤ 32²
            Assert.Equal(1.0, m.AveragePrecisionMedium, 12);  // 32² ≤ 1024 and 9216 ≤ 96²
            Assert.Equal(1.0, m.AveragePrecisionLarge, 12);   // 96² ≤ 9216 (an exact 96² box at a fractional position)
            Assert.Equal(1.0, m.MeanAveragePrecision, 12);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void TiedScoresInDifferentImagesFollowTheImageId()
    {
        // image 1: object found at 0.9; image 2: object missed, a false positive at 0.9. Rows list image 2 first.
        float[] o1 = { 10, 10, 60, 60 }, o2 = { 100, 100, 150, 150 }, elsewhere = { 300, 300, 340, 340 };
        var image2 = Image(2, new[] { ("a", o2, false, (double?)null) }, new[] { ("a", elsewhere, 0.9f) });
        var image1 = Image(1, new[] { ("a", o1, false, (double?)null) }, new[] { ("a", o1, 0.9f) });
        // by id: TP then FP: precision 1 up to recall 1/2 -> 51 of 101 points at 1
        Assert.Equal(51.0 / 101, EvaluateRows(new[] { image2, image1 }, One).MeanAveragePrecision, 12);
        // without ids the rows' order decides: FP then TP: precision 1/2 up to recall 1/2
        Assert.Equal(51 * 0.5 / 101, EvaluateRows(new[] { image2, image1 }, One, withColumns: false).MeanAveragePrecision, 12);
    }

    [Fact]
    public void BadCocoColumnsAreNamed()
    {
        var row = Image(1, new[] { ("a", new float[] { 0, 0, 10, 10 }, false, (double?)null) }, Array.Empty<(string, float[], float)>());
        var twice = new[] { row, Image(1, new[] { ("a", new float[] { 0, 0, 10, 10 }, false, (double?)null) }, Array.Empty<(string, float[], float)>()) };
        var error = Assert.Throws<InvalidDataException>(() => EvaluateRows(twice, One));
        Assert.Contains("image id 1 in column 'ImageId' appears in an earlier row too", error.Message);
        row.IsCrowd = new[] { false, true };
        error = Assert.Throws<InvalidDataException>(() => EvaluateRows(new[] { row }, One));
        Assert.Contains("column 'IsCrowd' has 2 flags for 1 objects", error.Message);
    }

    [Fact]
    public void CocoFormatReadsIdsCrowdRegionsAndAreas()
    {
        var (records, classes) = CocoFormat.Read(Fixture("hard-gt.json"), CrowdAnnotations.Keep);
        using var gt = JsonDocument.Parse(File.ReadAllText(Fixture("hard-gt.json")));
        var annotations = gt.RootElement.GetProperty("annotations").EnumerateArray().ToList();
        Assert.Equal(annotations.Count, records.Sum(r => r.Label.Length));
        Assert.Equal(annotations.Count(a => a.GetProperty("iscrowd").GetInt32() == 1), records.Sum(r => r.IsCrowd.Count(c => c)));
        Assert.Equal(annotations.Select(a => a.GetProperty("area").GetDouble()).Order(), records.SelectMany(r => r.Area).Order());
        Assert.Equal(gt.RootElement.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()), records.Select(r => r.ImageId));
        Assert.Equal(new[] { "pole", "skier", "ski_pole", "ski" }, classes); // categories in id order: 2, 7, 15, 31
        var (skipped, _) = CocoFormat.Read(Fixture("hard-gt.json"));
        Assert.Equal(annotations.Count(a => a.GetProperty("iscrowd").GetInt32() == 0), skipped.Sum(r => r.Label.Length));
    }
}

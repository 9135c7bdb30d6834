using Microsoft.ML.RetinaNet.Datasets;
using Microsoft.ML.RetinaNet.Datasets.Formats;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests.Datasets;

public sealed class CocoFormatTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-coco-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Json(string text)
    {
        string path = Path.Combine(_dir, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void WrittenRecordsReadBackTheSame()
    {
        var records = SyntheticShapes.Write(_dir, 5, 96, 64, seed: 2);
        records.Add(new DetectionRecord { ImagePath = records[0].ImagePath }); // an image without objects
        string path = Path.Combine(_dir, "shapes.json");
        CocoFormat.Write(path, records, SyntheticShapes.Classes, _dir);

        var (read, classes) = CocoFormat.Read(path);
        Assert.Equal(SyntheticShapes.Classes, classes);
        Assert.Equal(records.Count, read.Count);
        for (int i = 0; i < records.Count; i++)
        {
            Assert.Equal(records[i].ImagePath, read[i].ImagePath);
            Assert.Equal(records[i].Label, read[i].Label);
            Assert.Equal(records[i].BoundingBoxes, read[i].BoundingBoxes);
        }
        Assert.Contains("\"width\":96", File.ReadAllText(path));
    }

    [Fact]
    public void CategoryIdsNeedNotBeContiguousAndCrowdsAreSkippedByDefault()
    {
        string path = Json("""
            {"images": [{"id": 7, "file_name": "a.jpg", "width": 100, "height": 80}, {"id": 9, "file_name": "b.jpg", "width": 50, "height": 50}],
             "categories": [{"id": 90, "name": "toothbrush"}, {"id": 1, "name": "person"}],
             "annotations": [
               {"id": 1, "image_id": 7, "category_id": 90, "bbox": [10, 20, 30, 40], "iscrowd": 0},
               {"id": 2, "image_id": 7, "category_id": 1, "bbox": [0, 0, 100, 80], "iscrowd": 1},
               {"id": 3, "image_id": 7, "category_id": 1, "bbox": [5.5, 6, 10, 12]}]}
            """);
        var (records, classes) = CocoFormat.Read(path);
        Assert.Equal(new[] { "person", "toothbrush" }, classes); // by category id
        Assert.Equal(new[] { "toothbrush", "person" }, records[0].Label);
        Assert.Equal(new[] { 10f, 20f, 40f, 60f, 5.5f, 6f, 15.5f, 18f }, records[0].BoundingBoxes); // x, y, w, h -> x0, y0, x1, y1
        Assert.Empty(records[1].Label); // an image without annotations is a negative example
        var (withCrowd, _) = CocoFormat.Read(path, CrowdAnnotations.Keep);
        Assert.Equal(3, withCrowd[0].Label.Length);
    }

    [Theory]
    [InlineData("""{"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "x"}], "annotations": [{"id": 5, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]}]}""", "annotation id 5: refers to image id 2")]
    [InlineData("""{"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "x"}], "annotations": [{"id": 6, "image_id": 1, "category_id": 3, "bbox": [0, 0, 1, 1]}]}""", "annotation id 6: refers to category id 3")]
    [InlineData("""{"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "x"}], "annotations": [{"id": 7, "image_id": 1, "category_id": 1, "bbox": [0, 0, -4, 1]}]}""", "annotation id 7: bbox [0, 0, -4, 1] needs finite numbers and a positive width")]
    [InlineData("""{"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "x"}], "annotations": [{"id": 8, "image_id": 1, "category_id": 1, "bbox": [0, 0, 4]}]}""", "annotation id 8: needs a bbox of 4 numbers")]
    [InlineData("""{"categories": [{"id": 1, "name": "x"}]}""", "top level: has no \"images\" array")]
    [InlineData("""{"images": [{"id": 1, "file_name": "a.jpg"}, null], "categories": [{"id": 1, "name": "x"}]}""", "\"images\"[1]: is null")] // found by ReaderFuzzTests
    [InlineData("""{"images": [], "categories": [{"id": 1, "name": "x"}], "annotations": [null]}""", "\"annotations\"[0]: is null")]
    [InlineData("{\"images\": [\n  {\"id\": 1, \"file_name\": \"a.jpg\",,}\n]}", "line 2")]
    public void MalformedFilesNameTheFileAndThePlace(string json, string expected)
    {
        string path = Json(json);
        var error = Assert.Throws<DatasetFormatException>(() => CocoFormat.Read(path));
        Assert.Contains(Path.GetFileName(path), error.Message);
        Assert.Contains(expected, error.Message);
    }
}

using Microsoft.ML.RetinaNet.Datasets;
using Microsoft.ML.RetinaNet.Datasets.Formats;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests.Datasets;

/// <summary>CSV, YOLO and Pascal VOC readers: good files and the malformed cases, each named by file and line.</summary>
public sealed class TextFormatTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-formats-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void CsvMergesLinesPerImageAndKeepsEmptyImages()
    {
        string csv = Write("a.csv", "img/1.jpg,10,20,30,60,cat\nimg/2.jpg,,,,,\nimg/1.jpg,1.5,2,8,9,dog\n");
        var (records, classes) = CsvFormat.Read(csv);
        Assert.Equal(new[] { "cat", "dog" }, classes);
        Assert.Equal(new[] { "img/1.jpg", "img/2.jpg" }, records.Select(r => r.ImagePath));
        Assert.Equal(new[] { 10f, 20, 30, 60, 1.5f, 2, 8, 9 }, records[0].BoundingBoxes);
        Assert.Empty(records[1].Label);

        string roundTrip = Path.Combine(_dir, "b.csv");
        CsvFormat.Write(roundTrip, records);
        var (again, _) = CsvFormat.Read(roundTrip);
        Assert.Equal(records.Select(r => r.BoundingBoxes), again.Select(r => r.BoundingBoxes));

        var (ordered, fixedClasses) = CsvFormat.Read(csv, Write("classes.csv", "dog,0\ncat,1\n"));
        Assert.Equal(new[] { "dog", "cat" }, fixedClasses);
        Assert.Equal(2, ordered.Count);
    }

    [Theory]
    [InlineData("a.jpg,1,2,3\n", "line 1: has 4 fields")]
    [InlineData("a.jpg,1,2,3,4,cat\nb.jpg,1,x,3,4,cat\n", "line 2: 'x' is not a number (field 3, y1)")]
    [InlineData("a.jpg,5,2,3,4,cat\n", "line 1: box [5, 2, 3, 4] needs x2 > x1")]
    [InlineData("a.jpg,1,2,3,4,\n", "line 1: has a box but no class")]
    public void MalformedCsvNamesTheLine(string text, string expected)
    {
        string csv = Write("bad.csv", text);
        var error = Assert.Throws<DatasetFormatException>(() => CsvFormat.Read(csv));
        Assert.Contains("bad.csv", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void YoloLabelsAreDenormalisedByTheImageSize()
    {
        var shapes = SyntheticShapes.Write(Path.Combine(_dir, "images"), 2, 200, 100, seed: 1);
        string names = Write("names.txt", "square\ndisc\nbar\n");
        Write($"labels/{Path.GetFileNameWithoutExtension(shapes[0].ImagePath)}.txt", "1 0.5 0.5 0.2 0.4\n\n2 0.25 0.75 0.1 0.1\n");
        var (records, classes) = YoloFormat.Read(Path.Combine(_dir, "images"), Path.Combine(_dir, "labels"), names);
        Assert.Equal(new[] { "square", "disc", "bar" }, classes);
        Assert.Equal(new[] { "disc", "bar" }, records[0].Label);
        Assert.Equal(new[] { 80f, 30, 120, 70, 40, 70, 60, 80 }, records[0].BoundingBoxes); // 200×100 image
        Assert.Empty(records[1].Label); // no label file: no objects

        Write($"labels/{Path.GetFileNameWithoutExtension(shapes[1].ImagePath)}.txt", "7 0.5 0.5 0.2 0.2\n");
        var error = Assert.Throws<DatasetFormatException>(() => YoloFormat.Read(Path.Combine(_dir, "images"), Path.Combine(_dir, "labels"), names));
        Assert.Contains("line 1: class '7' is not an index into the 3 names", error.Message);
    }

    [Fact]
    public void VocKeepsTheDifficultFlagAndNamesBadXmlLines()
    {
        Write("voc/1.xml", """
            <annotation><filename>1.jpg</filename>
              <object><name>dog</name><difficult>1</difficult><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>
              <object><name>cat</name><bndbox><xmin>5</xmin><ymin>6</ymin><xmax>7</xmax><ymax>8</ymax></bndbox></object>
            </annotation>
            """);
        var (records, classes) = VocFormat.Read(Path.Combine(_dir, "voc"));
        Assert.Equal(new[] { "cat", "dog" }, classes);
        Assert.Equal(new[] { true, false }, records[0].Difficult);
        Assert.Equal(new[] { 1f, 2, 30, 40, 5, 6, 7, 8 }, records[0].BoundingBoxes);

        Write("voc/2.xml", "<annotation><filename>2.jpg</filename>\n<object><name>dog</name><bndbox><xmin>a</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>");
        var error = Assert.Throws<DatasetFormatException>(() => VocFormat.Read(Path.Combine(_dir, "voc")));
        Assert.Contains("2.xml: line 2: <xmin> is 'a', not a number", error.Message);
        Write("voc/2.xml", "<annotation><filename>2.jpg</filename>\n<object></annotation>");
        Assert.Contains("2.xml: line 2", Assert.Throws<DatasetFormatException>(() => VocFormat.Read(Path.Combine(_dir, "voc"))).Message);
    }
}

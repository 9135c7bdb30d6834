using Microsoft.ML.RetinaNet.Datasets;
using Microsoft.ML.RetinaNet.Datasets.Formats;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests.Datasets;

public sealed class SkiSceneDatasetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-scenes-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TheSameSeedWritesTheSameDatasetAndCocoReadsItBack()
    {
        var a = SkiSceneDataset.Generate(Path.Combine(_dir, "a"), 12, 2, 3, imageSize: 128, seed: 4);
        var b = SkiSceneDataset.Generate(Path.Combine(_dir, "b"), 12, 2, 3, imageSize: 128, seed: 4);
        Assert.Equal(new[] { "train", "validation", "test" }, a.Select(s => s.Name));
        for (int s = 0; s < 3; s++)
        {
            Assert.Equal(File.ReadAllText(a[s].CocoFile), File.ReadAllText(b[s].CocoFile));
            foreach (var r in a[s].Records)
                Assert.Equal(File.ReadAllBytes(Path.Combine(a[s].ImageFolder, r.ImagePath)), File.ReadAllBytes(Path.Combine(b[s].ImageFolder, r.ImagePath)));
            var (records, classes) = CocoFormat.Read(a[s].CocoFile);
            Assert.Equal(SkiSceneBoxes.Classes, classes);
            Assert.Equal(a[s].Records.Select(r => r.BoundingBoxes), records.Select(r => r.BoundingBoxes));
        }
        var other = SkiSceneDataset.Generate(Path.Combine(_dir, "c"), 12, 0, 0, imageSize: 128, seed: 5);
        Assert.NotEqual(File.ReadAllText(a[0].CocoFile), File.ReadAllText(other[0].CocoFile));
    }

    [Fact]
    public void ObjectsHaveTheShapesTheAnchorTunerIsFor()
    {
        var train = SkiSceneDataset.Generate(_dir, 80, 0, 0, imageSize: 384, seed: 1)[0].Records;
        var boxes = train.SelectMany(r => r.Label.Select((l, k) => (Label: l, Box: r.BoundingBoxes.Skip(4 * k).Take(4).ToArray()))).ToList();
        Assert.All(boxes, b => Assert.True(b.Box[0] >= 0 && b.Box[1] >= 0 && b.Box[2] <= 384 && b.Box[3] <= 384 && b.Box[2] > b.Box[0] && b.Box[3] > b.Box[1]));
        double MedianRatio(string label) => boxes.Where(b => b.Label == label).Select(b => (b.Box[3] - b.Box[1]) / (double)(b.Box[2] - b.Box[0])).OrderBy(v => v).ElementAt(boxes.Count(b => b.Label == label) / 2);
        Assert.InRange(MedianRatio("person"), 1.4, 1.9);
        Assert.InRange(MedianRatio("pole"), 8, 12);
        Assert.InRange(MedianRatio("ski"), 0.05, 0.08);
        Assert.InRange(MedianRatio("ski_pole"), 1.3, 1.8);
        Assert.Contains(train, r => r.Label.Length == 0); // negative examples
        Assert.Contains(train, r => r.Label.Length >= 4);
    }
}

using Microsoft.ML.RetinaNet.Detection;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Tests.Detection;

public class NmsTests
{
    [Fact]
    public void ASuppressedBoxDoesNotSuppressOthers()
    {
        using var scope = NewDisposeScope();
        // A overlaps B (IoU 1/3), B overlaps C (IoU 1/3), A and C do not touch. Greedy at 0.3 keeps A and C.
        var boxes = tensor(new float[] { 0, 0, 10, 10, 5, 0, 15, 10, 10, 0, 20, 10 }, new long[] { 3, 4 });
        var scores = tensor(new float[] { 0.9f, 0.8f, 0.7f });
        Assert.Equal(new long[] { 0, 2 }, Nms.Single(boxes, scores, 0.3).data<long>().ToArray());
        // at 0.5 nothing overlaps enough
        Assert.Equal(new long[] { 0, 1, 2 }, Nms.Single(boxes, scores, 0.5).data<long>().ToArray());
    }

    [Fact]
    public void ClassesDoNotSuppressEachOtherAndOrderIsByScore()
    {
        using var scope = NewDisposeScope();
        var boxes = tensor(new float[] { 0, 0, 10, 10, 1, 1, 11, 11, 0, 0, 10, 10, 20, 20, 30, 30 }, new long[] { 4, 4 });
        var scores = tensor(new float[] { 0.9f, 0.8f, 0.95f, 0.7f });
        var labels = tensor(new long[] { 0, 0, 1, 0 });
        Assert.Equal(new long[] { 2, 0, 3 }, Nms.Batched(boxes, scores, labels, 0.5).data<long>().ToArray());
    }

    [Fact]
    public void AgreesWithAPlainGreedyLoopOnRandomBoxes()
    {
        using var scope = NewDisposeScope();
        var random = new Random(7);
        int n = 600;
        var coords = new float[n * 4];
        for (int i = 0; i < n; i++)
        {
            float x = random.NextSingle() * 200, y = random.NextSingle() * 200;
            coords[4 * i] = x; coords[4 * i + 1] = y;
            coords[4 * i + 2] = x + 5 + random.NextSingle() * 60; coords[4 * i + 3] = y + 5 + random.NextSingle() * 60;
        }
        var scoreValues = Enumerable.Range(0, n).Select(_ => random.NextSingle()).ToArray();
        var labelValues = Enumerable.Range(0, n).Select(_ => (long)random.Next(3)).ToArray();

        var kept = Nms.Batched(tensor(coords, new long[] { n, 4 }), tensor(scoreValues), tensor(labelValues), 0.5).data<long>().ToArray();

        Assert.Equal(GreedyReference(coords, scoreValues, labelValues, 0.5), kept);
    }

    [Theory]
    [InlineData(0.3, 11)]
    [InlineData(0.5, 12)]
    [InlineData(0.7, 13)]
    public void TheCpuGridPathKeepsWhatTheSuppressionMatrixKeeps(double threshold, int seed)
    {
        // clustered candidates like a detector's (chains of suppression), scores rounded so that ties occur, a few
        // inverted and zero-area boxes; the grid path (used on the CPU) must keep exactly the matrix path's boxes
        using var scope = NewDisposeScope();
        var random = new Random(seed);
        int n = 3000;
        var centres = Enumerable.Range(0, 60).Select(_ => (X: random.NextSingle() * 500, Y: random.NextSingle() * 500, W: 8 + random.NextSingle() * 150, H: 8 + random.NextSingle() * 150)).ToArray();
        var coords = new float[n * 4];
        for (int i = 0; i < n; i++)
        {
            var c = centres[random.Next(centres.Length)];
            float x = c.X + (random.NextSingle() - 0.5f) * 0.4f * c.W, y = c.Y + (random.NextSingle() - 0.5f) * 0.4f * c.H;
            float w = c.W * (0.7f + 0.6f * random.NextSingle()), h = c.H * (0.7f + 0.6f * random.NextSingle());
            if (i % 500 == 7) w = -w;  // inverted
            if (i % 500 == 9) h = 0;   // zero area
            (coords[4 * i], coords[4 * i + 1], coords[4 * i + 2], coords[4 * i + 3]) = (x, y, x + w, y + h);
        }
        var scoreValues = Enumerable.Range(0, n).Select(_ => MathF.Round(random.NextSingle(), 2)).ToArray();
        var labelValues = Enumerable.Range(0, n).Select(_ => (long)random.Next(4)).ToArray();
        var (boxes, scores, labels) = (tensor(coords, new long[] { n, 4 }), tensor(scoreValues), tensor(labelValues));

        var batched = Nms.Batched(boxes, scores, labels, threshold).data<long>().ToArray();
        Assert.Equal(Nms.BatchedMatrix(boxes, scores, labels, threshold).data<long>().ToArray(), batched);
        Assert.Equal(Nms.SingleMatrix(boxes, scores, threshold).data<long>().ToArray(), Nms.Single(boxes, scores, threshold).data<long>().ToArray());
        Assert.True(batched.Length > 60 && batched.Length < n - 100, $"{batched.Length} of {n} kept: the clusters should be partly suppressed");
    }

    private static long[] GreedyReference(float[] b, float[] scores, long[] labels, double threshold)
    {
        var order = Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).ToArray();
        var kept = new List<long>();
        foreach (int i in order)
        {
            bool suppressed = kept.Any(k => labels[k] == labels[i] && Iou(b, (int)k, i) > threshold);
            if (!suppressed)
                kept.Add(i);
        }
        return kept.ToArray();
    }

    private static double Iou(float[] b, int i, int j)
    {
        double w = Math.Max(0, Math.Min(b[4 * i + 2], b[4 * j + 2]) - Math.Max(b[4 * i], b[4 * j]));
        double h = Math.Max(0, Math.Min(b[4 * i + 3], b[4 * j + 3]) - Math.Max(b[4 * i + 1], b[4 * j + 1]));
        double inter = w * h;
        double areaI = (b[4 * i + 2] - b[4 * i]) * (b[4 * i + 3] - b[4 * i + 1]);
        double areaJ = (b[4 * j + 2] - b[4 * j]) * (b[4 * j + 3] - b[4 * j + 1]);
        return inter / (areaI + areaJ - inter);
    }
}

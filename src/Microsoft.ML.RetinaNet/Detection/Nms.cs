using Microsoft.ML.RetinaNet.Runtime;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Detection;

/// <summary>
/// Greedy non-maximum suppression with torchvision's semantics (a box is dropped when its IoU with a kept,
/// higher-scoring box exceeds the threshold), computed with tensor operations: the pairwise suppression
/// matrix is built once and the kept set is its unique fixed point, keep_j = ¬∃ i &lt; j: keep_i ∧ IoU_ij &gt; t,
/// reached by iterating from "keep all" (each pass fixes at least one more position in score order, so it
/// ends; after a handful of passes for scattered boxes, but one pass per link of a suppression chain, so clustered
/// candidates need many). That suits a GPU; on the CPU the same result comes from <see cref="GreedyNms"/>, which is
/// what <see cref="Single"/> and <see cref="Batched"/> use for CPU tensors.
/// </summary>
internal static class Nms
{
    /// <summary>Rows of the IoU matrix computed at once, to bound the float temporaries.</summary>
    private const long BlockRows = 2048;

    /// <summary>Indices of the kept boxes, in decreasing score order.</summary>
    public static Tensor Single(Tensor boxes, Tensor scores, double iouThreshold) =>
        boxes.device_type == TorchSharp.DeviceType.CPU
            ? OnCpu(boxes, scores, null, iouThreshold)
            : SingleMatrix(boxes, scores, iouThreshold);

    /// <summary>NMS within each class; indices of kept boxes in decreasing score order.</summary>
    public static Tensor Batched(Tensor boxes, Tensor scores, Tensor labels, double iouThreshold) =>
        boxes.device_type == TorchSharp.DeviceType.CPU
            ? OnCpu(boxes, scores, labels, iouThreshold)
            : BatchedMatrix(boxes, scores, labels, iouThreshold);

    /// <summary><see cref="GreedyNms"/> per class (in increasing label order), then all kept boxes by decreasing score.</summary>
    private static Tensor OnCpu(Tensor boxes, Tensor scores, Tensor? labels, double iouThreshold)
    {
        using var scope = NewDisposeScope();
        int n = (int)boxes.shape[0];
        if (n == 0)
            return empty(0, dtype: ScalarType.Int64).MoveToOuterDisposeScope();
        var b = boxes.to(ScalarType.Float32).ToArray<float>();
        var s = scores.to(ScalarType.Float32).ToArray<float>();
        var l = labels?.to(ScalarType.Int64).ToArray<long>();

        // classes in increasing label order, each class's members in increasing index order
        var classes = l == null ? new[] { Enumerable.Range(0, n).ToArray() } : GroupByLabel(l);
        var kept = new List<int>();
        foreach (var members in classes)
            kept.AddRange(GreedyNms.Run(b, ByDecreasingScore(members, s), iouThreshold));
        // all classes by decreasing score; ties keep class order (one class's kept boxes are already in order)
        var result = l == null ? kept.ToArray() : ByDecreasingScore(kept, s);
        return tensor(result.Select(i => (long)i).ToArray(), dtype: ScalarType.Int64).MoveToOuterDisposeScope();
    }

    /// <summary><paramref name="items"/> by decreasing score, ties in their order in the list (a stable sort).</summary>
    private static int[] ByDecreasingScore(IReadOnlyList<int> items, float[] scores)
    {
        var keys = new ulong[items.Count];
        var sorted = new int[items.Count];
        for (int k = 0; k < items.Count; k++)
            (keys[k], sorted[k]) = (GreedyNms.SortKey(scores[items[k]], k), items[k]);
        Array.Sort(keys, sorted);
        return sorted;
    }

    /// <summary>Indices per distinct label, labels in increasing order, indices increasing within each.</summary>
    private static int[][] GroupByLabel(long[] labels)
    {
        var buckets = new SortedDictionary<long, List<int>>();
        for (int i = 0; i < labels.Length; i++)
        {
            if (!buckets.TryGetValue(labels[i], out var list))
                buckets[labels[i]] = list = new List<int>();
            list.Add(i);
        }
        return buckets.Values.Select(v => v.ToArray()).ToArray();
    }

    /// <summary>The suppression-matrix NMS of one set of boxes (any device).</summary>
    internal static Tensor SingleMatrix(Tensor boxes, Tensor scores, double iouThreshold)
    {
        using var scope = NewDisposeScope();
        long n = boxes.shape[0];
        if (n == 0)
            return empty(0, dtype: ScalarType.Int64, device: boxes.device).MoveToOuterDisposeScope();
        var order = scores.sort(0, descending: true, stable: true).Indices;
        var sorted = boxes.index_select(0, order);
        var blocks = new List<Tensor>();
        for (long start = 0; start < n; start += BlockRows)
        {
            long end = Math.Min(n, start + BlockRows);
            using var inner = NewDisposeScope();
            blocks.Add((BoxOps.Iou(sorted.narrow(0, start, end - start), sorted) > iouThreshold).MoveToOuterDisposeScope());
        }
        // (N, N): suppresses[i, j] for i < j only
        var suppresses = cat(blocks, 0).triu(1);
        var keep = ones(n, dtype: ScalarType.Bool, device: boxes.device);
        while (true)
        {
            var next = (suppresses & keep.unsqueeze(1)).any(0).logical_not();
            if (next.equal(keep).all().item<bool>())
                break;
            keep = next;
        }
        return order.masked_select(keep).MoveToOuterDisposeScope();
    }

    /// <summary>The suppression-matrix NMS within each class (any device).</summary>
    internal static Tensor BatchedMatrix(Tensor boxes, Tensor scores, Tensor labels, double iouThreshold)
    {
        using var scope = NewDisposeScope();
        if (boxes.shape[0] == 0)
            return empty(0, dtype: ScalarType.Int64, device: boxes.device).MoveToOuterDisposeScope();
        var kept = new List<Tensor>();
        var classes = labels.unique().Item1;
        long classCount = classes.shape[0];
        for (long c = 0; c < classCount; c++)
        {
            var members = nonzero(labels == classes[c]).view(-1);
            kept.Add(members.index_select(0, SingleMatrix(boxes.index_select(0, members), scores.index_select(0, members), iouThreshold)));
        }
        var all = cat(kept, 0);
        var order = scores.index_select(0, all).sort(0, descending: true, stable: true).Indices;
        return all.index_select(0, order).MoveToOuterDisposeScope();
    }
}

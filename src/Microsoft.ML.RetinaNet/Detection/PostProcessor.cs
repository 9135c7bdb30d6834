using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Detection;

/// <summary>Detections for one image: (D, 4) boxes, (D) scores in decreasing order, (D) int64 0-based labels.</summary>
internal sealed record ImageDetections(Tensor Boxes, Tensor Scores, Tensor Labels);

/// <summary>Post-processing settings (defaults as torchvision).</summary>
internal sealed record PostProcessSettings(double ScoreThreshold = 0.05, int TopKCandidates = 1000, double NmsThreshold = 0.5,
    int DetectionsPerImage = 300);

/// <summary>
/// Turns head outputs into detections as torchvision's <c>postprocess_detections</c>: per level, scores above the
/// threshold, the top k, decoded and clipped to the image; then class-wise NMS and the best N per image.
/// </summary>
internal sealed class PostProcessor
{
    private readonly PostProcessSettings _settings;
    private readonly BoxCoder _coder = new();

    public PostProcessor(PostProcessSettings settings) => _settings = settings;

    /// <param name="classLogits">(N, ΣA, K)</param>
    /// <param name="boxRegression">(N, ΣA, 4)</param>
    /// <param name="anchors">(ΣA, 4)</param>
    /// <param name="anchorsPerLevel">anchor count of each level, summing to ΣA</param>
    /// <param name="regions">x0 y0 x1 y1 of each image's content on the canvas: boxes are clipped to it</param>
    public ImageDetections[] Run(Tensor classLogits, Tensor boxRegression, Tensor anchors, long[] anchorsPerLevel, (float X0, float Y0, float X1,
        float Y1)[] regions)
    {
        var results = new ImageDetections[regions.Length];
        long numClasses = classLogits.shape[2];
        for (int i = 0; i < regions.Length; i++)
        {
            using var scope = NewDisposeScope();
            var boxes = new List<Tensor>();
            var scores = new List<Tensor>();
            var labels = new List<Tensor>();
            long start = 0;
            foreach (long count in anchorsPerLevel)
            {
                // (A_l, K) -> (A_l*K) scores, anchor-major
                var levelScores = classLogits[i].narrow(0, start, count).sigmoid().flatten();
                var candidates = nonzero(levelScores > _settings.ScoreThreshold).view(-1);
                var candidateScores = levelScores.index_select(0, candidates);
                int k = (int)Math.Min(_settings.TopKCandidates, candidates.shape[0]);
                var (topScores, topIdx) = candidateScores.topk(k);
                var flatIdx = candidates.index_select(0, topIdx);
                var anchorIdx = flatIdx.div(numClasses, RoundingMode.floor) + start;
                var decoded = _coder.Decode(boxRegression[i].index_select(0, anchorIdx), anchors.index_select(0, anchorIdx));
                boxes.Add(BoxOps.Clip(decoded, regions[i]));
                scores.Add(topScores);
                labels.Add(flatIdx.remainder(numClasses));
                start += count;
            }
            var allBoxes = cat(boxes, 0);
            var allScores = cat(scores, 0);
            var allLabels = cat(labels, 0);
            var keep = Nms.Batched(allBoxes, allScores, allLabels, _settings.NmsThreshold);
            keep = keep[..(int)Math.Min(keep.shape[0], _settings.DetectionsPerImage)];
            results[i] = new ImageDetections(
                allBoxes.index_select(0, keep).MoveToOuterDisposeScope(),
                allScores.index_select(0, keep).MoveToOuterDisposeScope(),
                allLabels.index_select(0, keep).MoveToOuterDisposeScope());
        }
        return results;
    }
}

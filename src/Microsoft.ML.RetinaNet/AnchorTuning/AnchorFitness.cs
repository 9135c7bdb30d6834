namespace Microsoft.ML.RetinaNet.AnchorTuning;

/// <summary>
/// What the anchor search maximises, class by class so that a rare thin class weighs as much as a common one: the mean
/// over the classes present of (covered fraction + <see cref="AnchorTuningOptions.PositivesWeight"/> × the class's mean of
/// min(positives, <see cref="AnchorTuningOptions.PositivesTarget"/>) / target), plus 0.01 × the mean best IoU to break
/// ties. Coverage alone let the search trade positives away (the ski scenes' 15.2 positive anchors per box fell to 7.8
/// for a few more covered boxes); the capped positives term keeps a box's positives up to the target worth having, while
/// boxes already rich in positives (large ones have hundreds) add nothing more.
/// </summary>
internal static class AnchorFitness
{
    public static double Of(AnchorCoverage coverage, BoxSet boxes, AnchorTuningOptions options)
    {
        int classes = boxes.ClassNames.Count;
        var covered = new double[classes];
        var positives = new double[classes];
        var counts = new int[classes];
        for (int i = 0; i < boxes.Count; i++)
        {
            int c = boxes.Labels[i];
            counts[c]++;
            if (coverage.BestIou[i] >= options.IouThreshold) covered[c]++;
            positives[c] += Math.Min(coverage.Positives[i], options.PositivesTarget) / (double)options.PositivesTarget;
        }
        double sum = 0;
        int present = 0;
        for (int c = 0; c < classes; c++)
        {
            if (counts[c] == 0) continue;
            sum += (covered[c] + options.PositivesWeight * positives[c]) / counts[c];
            present++;
        }
        return (present == 0 ? 0 : sum / present) + 0.01 * coverage.MeanBestIou;
    }
}

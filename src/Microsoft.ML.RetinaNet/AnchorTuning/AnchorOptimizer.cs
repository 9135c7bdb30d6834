namespace Microsoft.ML.RetinaNet.AnchorTuning;

/// <summary>
/// Chooses the four anchor hyper-parameters for a fixed number of scales × ratios, maximising <see cref="AnchorFitness"/>
/// (per-class coverage at the IoU threshold and positives per box). Starts from the given anchors, a k-means fit of the
/// boxes' log aspect ratios and log sizes relative to their nearest base size, and the closest-base method's values;
/// then a (1+λ) evolution strategy in log space over scales, ratios and the per-level sizes (each within ½–2× of where it
/// started), as YOLOv5's auto-anchor evolves its best-possible recall. Then, when asked, strides: level by level, halving
/// a level's anchor stride (2 × 2 times the centres) while the fitness it buys per doubling of the anchor count is at
/// least <see cref="AnchorTuningOptions.MinGainPerDoubling"/> and the count stays within
/// <see cref="AnchorTuningOptions.MaxAnchorFactor"/> of the feature strides'; and a shorter evolution at the strides chosen.
/// </summary>
internal static class AnchorOptimizer
{
    private const int Offspring = 8;

    public static AnchorOptions Optimise(BoxSet boxes, AnchorTuningOptions options, IEnumerable<AnchorOptions> seeds)
    {
        var sample = boxes.Sample(options.SampleSize);
        var random = new Random(options.Seed);
        double Fitness(AnchorOptions a) => AnchorFitness.Of(AnchorCoverage.Compute(a, sample, options.ImageSize, options.IouThreshold), sample,
            options);

        var candidates = seeds.Select(s => Reshape(s, options)).Append(KMeansStart(sample, options, random)).ToList();
        var best = candidates[0];
        double bestFitness = Fitness(best);
        foreach (var c in candidates.Skip(1))
        {
            double f = Fitness(c);
            if (f > bestFitness) (best, bestFitness) = (c, f);
        }
        (best, bestFitness) = Evolve(best, bestFitness, options.Generations, 0.3, options, Fitness, random);
        if (!options.TuneStrides)
            return best;
        var strided = ChooseStrides(best, bestFitness, options, Fitness);
        if (strided.Strides.SequenceEqual(best.Strides))
            return best;
        return Evolve(strided, Fitness(strided), options.Generations / 2, 0.1, options, Fitness, random).Best;
    }

    private static (AnchorOptions Best, double Fitness) Evolve(AnchorOptions best, double bestFitness, int generations, double sigma,
        AnchorTuningOptions options, Func<AnchorOptions, double> fitness, Random random)
    {
        for (int g = 0; g < generations; g++)
        {
            for (int k = 0; k < Offspring; k++)
            {
                var child = Mutate(best, options.BaseAnchors.Sizes, sigma, random);
                double f = fitness(child);
                if (f > bestFitness) (best, bestFitness) = (child, f);
            }
            sigma = Math.Max(0.02, sigma * 0.95);
        }
        return (best, bestFitness);
    }

    /// <summary>
    /// Greedy: at each round the level whose halved stride buys the most fitness per doubling of the anchor count, while
    /// that is at least the minimum and the count within the budget; stops when no level qualifies. Strides stop at 2.
    /// </summary>
    internal static AnchorOptions ChooseStrides(AnchorOptions start, double startFitness, AnchorTuningOptions options, Func<AnchorOptions,
        double> fitness)
    {
        var featureStrides = start.Clone();
        featureStrides.Strides = AnchorOptions.FeatureStrides.ToArray();
        double budget = options.MaxAnchorFactor * featureStrides.AnchorCount(options.ImageSize);
        var current = start;
        double currentFitness = startFitness;
        while (true)
        {
            AnchorOptions? chosen = null;
            double chosenFitness = 0, chosenValue = options.MinGainPerDoubling;
            for (int l = 0; l < AnchorOptions.LevelCount; l++)
            {
                if (current.Strides[l] % 2 != 0 || current.Strides[l] / 2 < 2)
                    continue;
                var candidate = current.Clone();
                candidate.Strides[l] /= 2;
                long count = candidate.AnchorCount(options.ImageSize);
                if (count > budget)
                    continue;
                double f = fitness(candidate);
                double value = (f - currentFitness) / Math.Log2((double)count / current.AnchorCount(options.ImageSize));
                if (value >= chosenValue)
                    (chosen, chosenFitness, chosenValue) = (candidate, f, value);
            }
            if (chosen is null)
                return current;
            (current, currentFitness) = (chosen, chosenFitness);
        }
    }

    /// <summary>The start's sizes and strides; <paramref name="options"/>' counts of scales and ratios, taken from <paramref name="a"/>
    /// where it has enough.</summary>
    private static AnchorOptions Reshape(AnchorOptions a, AnchorTuningOptions options) => new()
    {
        Sizes = (float[])options.BaseAnchors.Sizes.Clone(),
        Strides = (int[])options.BaseAnchors.Strides.Clone(),
        Scales = Spread(a.Scales, options.ScaleCount),
        Ratios = Spread(a.Ratios, options.RatioCount),
        RoundSizesDown = false,
    };

    /// <summary>count values picked evenly (in log space) from the sorted values.</summary>
    private static float[] Spread(float[] values, int count)
    {
        var logs = values.Select(v => Math.Log(v)).OrderBy(v => v).ToArray();
        return Enumerable.Range(0, count).Select(i =>
        {
            double q = count == 1 ? 0.5 : (double)i / (count - 1);
            double pos = q * (logs.Length - 1);
            int lo = (int)Math.Floor(pos), hi = Math.Min(lo + 1, logs.Length - 1);
            return (float)Math.Exp(logs[lo] + (pos - lo) * (logs[hi] - logs[lo]));
        }).ToArray();
    }

    private static AnchorOptions KMeansStart(BoxSet boxes, AnchorTuningOptions options, Random random)
    {
        var sizes = options.BaseAnchors.Sizes;
        var logRatios = Enumerable.Range(0, boxes.Count).Select(i => Math.Log(boxes.Height(i) / boxes.Width(i))).ToArray();
        var logScales = Enumerable.Range(0, boxes.Count).Select(i =>
        {
            double size = Math.Sqrt(boxes.Width(i) * boxes.Height(i));
            double nearest = sizes.OrderBy(b => Math.Abs(Math.Log(size / b))).First();
            return Math.Log(size / nearest);
        }).ToArray();
        return new AnchorOptions
        {
            Sizes = (float[])sizes.Clone(),
            Strides = (int[])options.BaseAnchors.Strides.Clone(),
            Scales = KMeans1D(logScales, options.ScaleCount, random).Select(v => (float)Math.Exp(v)).ToArray(),
            Ratios = KMeans1D(logRatios, options.RatioCount, random).Select(v => (float)Math.Exp(v)).ToArray(),
            RoundSizesDown = false,
        };
    }

    /// <summary>Lloyd's k-means on a line, started at evenly spaced quantiles.</summary>
    internal static double[] KMeans1D(double[] values, int k, Random random)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        var centres = Enumerable.Range(0, k).Select(i => sorted[(int)((i + 0.5) / k * (sorted.Length - 1))]).ToArray();
        for (int iteration = 0; iteration < 50; iteration++)
        {
            var sums = new double[k];
            var counts = new int[k];
            foreach (double v in sorted)
            {
                int c = 0;
                for (int j = 1; j < k; j++)
                    if (Math.Abs(v - centres[j]) < Math.Abs(v - centres[c])) c = j;
                sums[c] += v;
                counts[c]++;
            }
            for (int j = 0; j < k; j++)
                centres[j] = counts[j] > 0 ? sums[j] / counts[j] : sorted[random.Next(sorted.Length)];
        }
        return centres.OrderBy(c => c).ToArray();
    }

    private static AnchorOptions Mutate(AnchorOptions a, float[] startSizes, double sigma, Random random)
    {
        float Jitter(float v, double lo, double hi) => (float)Math.Clamp(v * Math.Exp(sigma * Gaussian(random)), lo, hi);
        var copy = a.Clone();
        // change a random subset (at least one value) of the scales and ratios, and now and then a level's size
        int changes = 0;
        for (int l = 0; l < copy.Sizes.Length; l++)
            if (random.NextDouble() < 0.1) copy.Sizes[l] = Jitter(copy.Sizes[l], startSizes[l] / 2.0, startSizes[l] * 2.0);
        for (int i = 0; i < copy.Scales.Length; i++)
            if (random.NextDouble() < 0.5) { copy.Scales[i] = Jitter(copy.Scales[i], 0.1, 10); changes++; }
        for (int i = 0; i < copy.Ratios.Length; i++)
            if (random.NextDouble() < 0.5) { copy.Ratios[i] = Jitter(copy.Ratios[i], 0.01, 100); changes++; }
        if (changes == 0)
        {
            int i = random.Next(copy.Ratios.Length);
            copy.Ratios[i] = Jitter(copy.Ratios[i], 0.01, 100);
        }
        Array.Sort(copy.Scales);
        Array.Sort(copy.Ratios);
        return copy;
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}

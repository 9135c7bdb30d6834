namespace Microsoft.ML.RetinaNet.Evaluation;

/// <summary>
/// The mean of paired differences b − a (one pair per seed: the same initialisation and data order, two settings) and its
/// 95 % confidence interval from Student's t with n − 1 degrees of freedom: mean ± t(0.975, n − 1) · sd / √n. An interval
/// that excludes 0 says the setting b differs from a beyond what the seeds' spread explains.
/// </summary>
/// <param name="Mean">Mean difference.</param>
/// <param name="Low">Lower end of the 95 % interval (NaN for fewer than 2 pairs).</param>
/// <param name="High">Upper end of the 95 % interval (NaN for fewer than 2 pairs).</param>
/// <param name="Pairs">Number of pairs.</param>
public readonly record struct PairedDifference(double Mean, double Low, double High, int Pairs)
{
    // t(0.975, df) for df = 1…30
    private static readonly double[] T975 =
    {
        12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010, 2.1788, 2.1604, 2.1448, 2.1314,
        2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
    };

    /// <summary>Differences <paramref name="b"/>[i] − <paramref name="a"/>[i] of paired results.</summary>
    public static PairedDifference Of(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a is null || b is null) throw new ArgumentNullException(a is null ? nameof(a) : nameof(b));
        if (a.Count != b.Count) throw new ArgumentException($"Paired results need as many values on each side; got {a.Count} and {b.Count}.",
            nameof(b));
        if (a.Count == 0) throw new ArgumentException("Paired results need at least one pair.", nameof(a));
        var d = a.Zip(b, (x, y) => y - x).ToArray();
        double mean = d.Average();
        if (d.Length < 2)
            return new PairedDifference(mean, double.NaN, double.NaN, d.Length);
        double sd = Math.Sqrt(d.Sum(x => (x - mean) * (x - mean)) / (d.Length - 1));
        double half = TQuantile975(d.Length - 1) * sd / Math.Sqrt(d.Length);
        return new PairedDifference(mean, mean - half, mean + half, d.Length);
    }

    /// <summary>True when the interval lies above 0.</summary>
    public bool IsPositive => Low > 0;

    /// <summary>True when the interval lies below 0.</summary>
    public bool IsNegative => High < 0;

    /// <summary>t(0.975, df): the table to 30, then the Cornish–Fisher expansion around z = 1.96 (error below 1e-4).</summary>
    internal static double TQuantile975(int df)
    {
        if (df < 1) throw new ArgumentOutOfRangeException(nameof(df), df, "At least one degree of freedom.");
        if (df <= T975.Length) return T975[df - 1];
        const double z = 1.959964;
        double z3 = z * z * z, z5 = z3 * z * z;
        return z + (z3 + z) / (4.0 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96.0 * df * df);
    }

    /// <summary>"+0.123 [−0.010, +0.256]".</summary>
    public override string ToString() => double.IsNaN(Low)
        ? Signed(Mean)
        : $"{Signed(Mean)} [{Signed(Low)}, {Signed(High)}]";

    private static string Signed(double v) => (Math.Round(v, 3) == 0 ? 0 : v).ToString("+0.000;−0.000;0.000",
        System.Globalization.CultureInfo.InvariantCulture);
}

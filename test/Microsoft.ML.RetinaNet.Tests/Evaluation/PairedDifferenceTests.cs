using Microsoft.ML.RetinaNet.Evaluation;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests.Evaluation;

public class PairedDifferenceTests
{
    [Fact]
    public void TheIntervalIsTheHandComputedOne()
    {
        // differences 0.2, 0.3, 0.1: mean 0.2, sd 0.1, standard error 0.1/√3 = 0.0577350, t(0.975, 2) = 4.3027
        var d = PairedDifference.Of(new[] { 0.3, 0.5, 0.4 }, new[] { 0.5, 0.8, 0.5 });
        Assert.Equal(3, d.Pairs);
        Assert.Equal(0.2, d.Mean, 12);
        Assert.Equal(0.2 - 4.3027 * 0.1 / Math.Sqrt(3), d.Low, 9);
        Assert.Equal(0.2 + 4.3027 * 0.1 / Math.Sqrt(3), d.High, 9);
        Assert.False(d.IsPositive); // −0.048: the interval reaches below 0
        Assert.Equal("+0.200 [−0.048, +0.448]", d.ToString());

        // five pairs all clearly positive: differences 0.10, 0.12, 0.08, 0.11, 0.09 (mean 0.1, sd 0.0158114, t(0.975, 4) = 2.7764)
        var clear = PairedDifference.Of(new double[5], new[] { 0.10, 0.12, 0.08, 0.11, 0.09 });
        Assert.Equal(0.1 - 2.7764 * 0.0158114 / Math.Sqrt(5), clear.Low, 6);
        Assert.True(clear.IsPositive);
    }

    [Fact]
    public void OnePairHasNoIntervalAndBadInputIsNamed()
    {
        var one = PairedDifference.Of(new[] { 0.5 }, new[] { 0.25 });
        Assert.Equal(-0.25, one.Mean, 12);
        Assert.True(double.IsNaN(one.Low) && double.IsNaN(one.High));
        Assert.Equal("−0.250", one.ToString());
        Assert.Contains("as many values on each side; got 2 and 1", Assert.Throws<ArgumentException>(() => PairedDifference.Of(new[] { 1.0, 2 },
            new[] { 1.0 })).Message);
        Assert.Throws<ArgumentException>(() => PairedDifference.Of(Array.Empty<double>(), Array.Empty<double>()));
    }

    [Fact]
    public void TheTQuantileMatchesTablesBeyondThirty()
    {
        Assert.Equal(12.7062, PairedDifference.TQuantile975(1), 4);
        Assert.Equal(2.0423, PairedDifference.TQuantile975(30), 4);
        Assert.Equal(2.0211, PairedDifference.TQuantile975(40), 3); // published t(0.975, 40) = 2.0211
        Assert.Equal(2.0003, PairedDifference.TQuantile975(60), 3); // 2.0003
        Assert.Equal(1.9799, PairedDifference.TQuantile975(120), 3); // 1.9799
    }
}

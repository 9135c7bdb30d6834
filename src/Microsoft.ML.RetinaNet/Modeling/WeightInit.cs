using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Modeling;

/// <summary>
/// The random generator the modules initialise their weights from. Inside <see cref="Seeded"/> it is a private generator,
/// so a network's initial weights depend on the seed alone — not on what other code (another training on another
/// thread) draws from TorchSharp's global generator at the same time. Outside it, the global generator, as in torchvision.
/// Draws go through the tensor methods <c>normal_</c> / <c>uniform_</c>: TorchSharp 0.107's <c>nn.init.normal_</c> and
/// <c>nn.init.uniform_</c> take a generator argument but draw from the global generator whatever is passed (checked here).
/// </summary>
internal static class WeightInit
{
    [ThreadStatic]
    private static Generator? _current;

    public static Generator? Current => _current;

    /// <summary>
    /// torchvision's ResNet convolutions: kaiming_normal_(mode="fan_out", nonlinearity="relu"), i.e. N(0, √2 / √fan_out)
    /// with fan_out = output channels × kernel area.
    /// </summary>
    public static void KaimingNormalFanOutRelu(Tensor weight)
    {
        long fanOut = weight.shape[0] * weight.shape[2] * weight.shape[3];
        Normal(weight, Math.Sqrt(2.0) / Math.Sqrt(fanOut));
    }

    /// <summary>Fills <paramref name="weight"/> in place from N(0, <paramref name="std"/>²), drawn from <see cref="Current"/>.</summary>
    public static void Normal(Tensor weight, double std)
    {
        using var noGrad = no_grad();
        weight.normal_(0, std, _current);
    }

    /// <summary>
    /// torchvision's FPN convolutions: kaiming_uniform_(a=1), i.e. U(−b, b) with gain √(2 / (1 + a²)) = 1 and
    /// b = √(3 / fan_in), fan_in = input channels × kernel area.
    /// </summary>
    public static void KaimingUniformUnitGain(Tensor weight)
    {
        long fanIn = weight.shape[1] * weight.shape[2] * weight.shape[3];
        double bound = Math.Sqrt(3.0 / fanIn);
        using var noGrad = no_grad();
        weight.uniform_(-bound, bound, _current);
    }

    /// <summary>Until disposed, networks built on this thread initialise from a generator seeded with <paramref name="seed"/>.</summary>
    public static IDisposable Seeded(long seed)
    {
        var previous = _current;
        var generator = new Generator((ulong)seed);
        _current = generator;
        return new Scope(() =>
        {
            _current = previous;
            generator.Dispose();
        });
    }

    private sealed class Scope : IDisposable
    {
        private Action? _end;

        public Scope(Action end) => _end = end;

        public void Dispose()
        {
            _end?.Invoke();
            _end = null;
        }
    }
}

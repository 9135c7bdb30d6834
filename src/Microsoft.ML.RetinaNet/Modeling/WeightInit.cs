using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Modeling;

/// <summary>
/// The random generator the modules initialise their weights from. Inside <see cref="Seeded"/> it is a private generator,
/// so a network's initial weights depend on the seed alone — not on what other code (another training on another
/// thread) draws from TorchSharp's global generator at the same time. Outside it, the global generator, as in torchvision.
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
        nn.init.normal_(weight, 0, Math.Sqrt(2.0) / Math.Sqrt(fanOut), _current);
    }

    /// <summary>
    /// torchvision's FPN convolutions: kaiming_uniform_(a=1), i.e. U(−b, b) with gain √(2 / (1 + a²)) = 1 and
    /// b = √(3 / fan_in), fan_in = input channels × kernel area.
    /// </summary>
    public static void KaimingUniformUnitGain(Tensor weight)
    {
        long fanIn = weight.shape[1] * weight.shape[2] * weight.shape[3];
        double bound = Math.Sqrt(3.0 / fanIn);
        nn.init.uniform_(weight, -bound, bound, _current);
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

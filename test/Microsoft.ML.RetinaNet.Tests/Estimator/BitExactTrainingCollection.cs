namespace Microsoft.ML.RetinaNet.Tests.Estimator;

/// <summary>
/// Tests that compare two trainings bit for bit (resume equals an unbroken run) run alone, after the parallel ones.
/// Once, in a full CI run, two of them saw an unbroken and a resumed run differ already in epoch 1 while other tests
/// trained and differentiated at the same time; alone they passed every time (see the stop-10 note).
/// </summary>
[Xunit.CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BitExactTrainingCollection
{
    public const string Name = "bit-exact training";
}

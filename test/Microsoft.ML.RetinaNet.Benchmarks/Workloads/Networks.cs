using Microsoft.ML.RetinaNet.Modeling;

namespace Microsoft.ML.RetinaNet.Benchmarks.Workloads;

/// <summary>Networks as the trainer builds them without pretrained weights: BatchNorm, every stage trainable.</summary>
internal static class Networks
{
    public static RetinaNetNetwork Fresh(int depth, int classes = BenchmarkData.Classes)
    {
        using var seeded = WeightInit.Seeded(1);
        var network = new RetinaNetNetwork(new NetworkConfig(classes, depth));
        network.Body.SetTrainableStages(5);
        return network;
    }
}

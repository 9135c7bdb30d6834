using Microsoft.ML.RetinaNet.Modeling;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests.Parity;

/// <summary>Every depth and version has exactly torchvision's state_dict keys and shapes (fixtures/torchvision/state_dict_keys.txt).</summary>
public class StateDictKeyTests
{
    public static TheoryData<int, RetinaNetVersion> Variants()
    {
        var data = new TheoryData<int, RetinaNetVersion>();
        foreach (int depth in new[] { 18, 34, 50, 101, 152 })
            foreach (var version in new[] { RetinaNetVersion.V1, RetinaNetVersion.V2 })
                data.Add(depth, version);
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void KeysAndShapesEqualTorchvision(int depth, RetinaNetVersion version)
    {
        string tag = $"r{depth}_v{(version == RetinaNetVersion.V1 ? 1 : 2)}";
        var expected = File.ReadLines(SafeTensorsFile.FixturePath("state_dict_keys.txt"))
            .Select(line => line.Split(' '))
            .Where(parts => parts[0] == tag)
            .Select(parts => $"{parts[1]} {parts[2]}")
            .ToList();
        Assert.NotEmpty(expected);

        using var network = new RetinaNetNetwork(new NetworkConfig(91, depth, version));
        var actual = network.state_dict().Select(kv => $"{kv.Key} {string.Join("x", kv.Value.shape)}").ToList();

        Assert.Equal(expected.OrderBy(k => k, StringComparer.Ordinal), actual.OrderBy(k => k, StringComparer.Ordinal));
    }
}

using System.Buffers.Binary;
using System.Text.Json;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Tests.Parity;

/// <summary>Reads the safetensors files the fixture script writes (F32 and I64 tensors).</summary>
internal sealed class SafeTensorsFile
{
    private readonly Dictionary<string, Tensor> _tensors = new();

    public SafeTensorsFile(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        int dataStart = 8 + (int)headerLength;
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var data = bytes.AsSpan(dataStart + offsets[0], offsets[1] - offsets[0]);
            _tensors[entry.Name] = entry.Value.GetProperty("dtype").GetString() switch
            {
                "F32" => tensor(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(data).ToArray(), shape),
                "I64" => tensor(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(data).ToArray(), shape),
                var other => throw new InvalidDataException($"{path}: unsupported dtype {other} for {entry.Name}"),
            };
        }
    }

    public Tensor this[string name] => _tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"fixture has no tensor '{name}'");

    public IEnumerable<string> Names => _tensors.Keys;

    public static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "torchvision", name);
}

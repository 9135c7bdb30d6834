using System.Buffers.Binary;
using System.Text;

namespace Microsoft.ML.RetinaNet.Onnx;

/// <summary>One node of an ONNX graph: its operator, value names and integer / float attributes.</summary>
internal sealed record OnnxNode(string OpType, string Name, string[] Inputs, string[] Outputs,
    IReadOnlyDictionary<string, long[]> Ints, IReadOnlyDictionary<string, float[]> Floats)
{
    public long[] IntsOr(string name, params long[] fallback) => Ints.TryGetValue(name, out var v) ? v : fallback;

    public float FloatOr(string name, float fallback) => Floats.TryGetValue(name, out var v) && v.Length == 1 ? v[0] : fallback;
}

/// <summary>A float32 constant of the graph (an initializer or a Constant node's value), row-major.</summary>
internal sealed record OnnxTensor(string Name, long[] Dims, float[] Data);

/// <summary>A graph input with its declared dimensions (−1 where a dimension is symbolic).</summary>
internal sealed record OnnxInput(string Name, long[] Dims);

/// <summary>What <see cref="OnnxModelReader"/> gives: nodes in file order (ONNX requires topological order), constants, inputs.</summary>
internal sealed record OnnxModel(string Producer, long Opset, IReadOnlyList<OnnxNode> Nodes,
    IReadOnlyDictionary<string, OnnxTensor> Constants, IReadOnlyList<OnnxInput> Inputs, IReadOnlyList<string> Outputs);

/// <summary>
/// Reads the parts of a serialised ONNX ModelProto that a weight importer needs: ModelProto.producer_name (2),
/// opset_import (8) → version (2), graph (7) → node (1), initializer (5), input (11), output (12). Tensors: dims (1),
/// data_type (2; only 1 = float is kept), float_data (4, packed or not), name (8), raw_data (9). Nodes: input (1),
/// output (2), name (3), op_type (4), attribute (5) → name (1), f (2), i (3), t (5, for Constant), floats (7), ints (8).
/// Every other field is skipped. A malformed file gives <see cref="InvalidDataException"/>.
/// </summary>
internal static class OnnxModelReader
{
    public static OnnxModel Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw new InvalidDataException($"Cannot read the ONNX model '{path}': {e.Message}", e);
        }
        try
        {
            return Read(bytes);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}' is not a readable ONNX model: {e.Message}", e);
        }
    }

    public static OnnxModel Read(ReadOnlySpan<byte> model)
    {
        string producer = "";
        long opset = 0;
        var nodes = new List<OnnxNode>();
        var constants = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        var inputs = new List<OnnxInput>();
        var outputs = new List<string>();
        var reader = new ProtoReader(model);
        while (reader.Next(out int field, out var payload, out _))
        {
            if (field == 2) producer = Encoding.UTF8.GetString(payload);
            else if (field == 8) opset = Math.Max(opset, ReadOpset(payload));
            else if (field == 7) ReadGraph(payload, nodes, constants, inputs, outputs);
        }
        if (nodes.Count == 0)
            throw new InvalidDataException("the model has no graph nodes.");
        return new OnnxModel(producer, opset, nodes, constants, inputs, outputs);
    }

    private static long ReadOpset(ReadOnlySpan<byte> data)
    {
        var reader = new ProtoReader(data);
        long version = 0;
        while (reader.Next(out int field, out _, out ulong value))
            if (field == 2) version = (long)value;
        return version;
    }

    private static void ReadGraph(ReadOnlySpan<byte> data, List<OnnxNode> nodes, Dictionary<string, OnnxTensor> constants, List<OnnxInput> inputs,
        List<string> outputs)
    {
        var reader = new ProtoReader(data);
        while (reader.Next(out int field, out var payload, out _))
        {
            switch (field)
            {
                case 1:
                    var node = ReadNode(payload, out var value);
                    if (value != null && node.Outputs.Length == 1)
                        constants[node.Outputs[0]] = value with { Name = node.Outputs[0] };
                    nodes.Add(node);
                    break;
                case 5:
                    var tensor = ReadTensor(payload);
                    if (tensor != null) constants[tensor.Name] = tensor;
                    break;
                case 11:
                    inputs.Add(ReadValueInfo(payload));
                    break;
                case 12:
                    outputs.Add(ReadValueInfo(payload).Name);
                    break;
            }
        }
    }

    private static OnnxNode ReadNode(ReadOnlySpan<byte> data, out OnnxTensor? constantValue)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        string name = "", op = "";
        var ints = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var floats = new Dictionary<string, float[]>(StringComparer.Ordinal);
        constantValue = null;
        var reader = new ProtoReader(data);
        while (reader.Next(out int field, out var payload, out _))
        {
            switch (field)
            {
                case 1: inputs.Add(Encoding.UTF8.GetString(payload)); break;
                case 2: outputs.Add(Encoding.UTF8.GetString(payload)); break;
                case 3: name = Encoding.UTF8.GetString(payload); break;
                case 4: op = Encoding.UTF8.GetString(payload); break;
                case 5: ReadAttribute(payload, ints, floats, ref constantValue); break;
            }
        }
        return new OnnxNode(op, name, inputs.ToArray(), outputs.ToArray(), ints, floats);
    }

    private static void ReadAttribute(ReadOnlySpan<byte> data, Dictionary<string, long[]> ints, Dictionary<string, float[]> floats,
        ref OnnxTensor? tensor)
    {
        string name = "";
        var intValues = new List<long>();
        var floatValues = new List<float>();
        var reader = new ProtoReader(data);
        while (reader.Next(out int field, out var payload, out ulong value))
        {
            switch (field)
            {
                case 1: name = Encoding.UTF8.GetString(payload); break;
                case 2: floatValues.Add(BitConverter.Int32BitsToSingle((int)value)); break;
                case 3: intValues.Add(unchecked((long)value)); break;
                case 5: tensor = ReadTensor(payload); break;
                case 7: ReadFloats(payload, reader.LastWireType, value, floatValues); break;
                case 8: ReadInts(payload, reader.LastWireType, value, intValues); break;
            }
        }
        if (intValues.Count > 0) ints[name] = intValues.ToArray();
        if (floatValues.Count > 0) floats[name] = floatValues.ToArray();
    }

    private static OnnxTensor? ReadTensor(ReadOnlySpan<byte> data)
    {
        var dims = new List<long>();
        var values = new List<float>();
        byte[]? raw = null;
        string name = "";
        long dataType = 0;
        var reader = new ProtoReader(data);
        while (reader.Next(out int field, out var payload, out ulong value))
        {
            switch (field)
            {
                case 1: ReadInts(payload, reader.LastWireType, value, dims); break;
                case 2: dataType = (long)value; break;
                case 4: ReadFloats(payload, reader.LastWireType, value, values); break;
                case 8: name = Encoding.UTF8.GetString(payload); break;
                case 9: raw = payload.ToArray(); break;
            }
        }
        if (dataType != 1)
            return null; // only float tensors carry weights
        float[] result;
        if (raw != null)
        {
            if (raw.Length % 4 != 0) throw new InvalidDataException($"tensor '{name}' has {raw.Length} raw bytes, not a whole number of floats.");
            result = new float[raw.Length / 4];
            for (int i = 0; i < result.Length; i++)
                result[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(4 * i));
        }
        else
        {
            result = values.ToArray();
        }
        long count = dims.Aggregate(1L, (a, b) => a * b);
        if (count != result.Length)
            throw new InvalidDataException($"tensor '{name}' has dims [{string.Join(", ", dims)}] ({count} values) but {result.Length} values.");
        return new OnnxTensor(name, dims.ToArray(), result);
    }

    private static OnnxInput ReadValueInfo(ReadOnlySpan<byte> data)
    {
        // ValueInfoProto: name (1), type (2) → tensor_type (1) → shape (2) → dim (1) → dim_value (1) | dim_param (2)
        string name = "";
        var dims = new List<long>();
        var reader = new ProtoReader(data);
        while (reader.Next(out int field, out var payload, out _))
        {
            if (field == 1) name = Encoding.UTF8.GetString(payload);
            else if (field == 2) ReadTypeDims(payload, dims);
        }
        return new OnnxInput(name, dims.ToArray());
    }

    private static void ReadTypeDims(ReadOnlySpan<byte> typeProto, List<long> dims)
    {
        var type = new ProtoReader(typeProto);
        while (type.Next(out int f1, out var tensorType, out _))
        {
            if (f1 != 1) continue;
            var tt = new ProtoReader(tensorType);
            while (tt.Next(out int f2, out var shape, out _))
            {
                if (f2 != 2) continue;
                var s = new ProtoReader(shape);
                while (s.Next(out int f3, out var dim, out _))
                {
                    if (f3 != 1) continue;
                    long size = -1;
                    var d = new ProtoReader(dim);
                    while (d.Next(out int f4, out _, out ulong v))
                        if (f4 == 1) size = (long)v;
                    dims.Add(size);
                }
            }
        }
    }

    private static void ReadInts(ReadOnlySpan<byte> payload, int wireType, ulong value, List<long> into)
    {
        if (wireType == 0) { into.Add(unchecked((long)value)); return; }
        var packed = new ProtoReader(payload);
        while (packed.HasMore)
            into.Add(unchecked((long)packed.Varint()));
    }

    private static void ReadFloats(ReadOnlySpan<byte> payload, int wireType, ulong value, List<float> into)
    {
        if (wireType == 5) { into.Add(BitConverter.Int32BitsToSingle((int)value)); return; }
        if (payload.Length % 4 != 0) throw new InvalidDataException("a packed float field has a length that is not a multiple of 4.");
        for (int i = 0; i < payload.Length; i += 4)
            into.Add(BinaryPrimitives.ReadSingleLittleEndian(payload[i..]));
    }
}

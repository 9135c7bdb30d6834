using System.Runtime.InteropServices;

namespace Microsoft.ML.RetinaNet.Onnx;

/// <summary>ONNX tensor element types used here (TensorProto.DataType).</summary>
internal enum OnnxType
{
    Float = 1,
    Int64 = 7,
}

/// <summary>
/// Builds an ONNX graph (nodes in topological order, initializers, typed inputs and outputs) and serialises it as a
/// ModelProto with the field numbers of onnx.proto3. Value names are generated unique per prefix.
/// </summary>
internal sealed class OnnxGraph
{
    public const int OpsetVersion = 17;
    public const int IrVersion = 8;

    private readonly List<ProtoWriter> _nodes = new();
    private readonly List<ProtoWriter> _initializers = new();
    private readonly List<ProtoWriter> _inputs = new();
    private readonly List<ProtoWriter> _outputs = new();
    private readonly Dictionary<string, int> _counters = new();
    private readonly Dictionary<string, string> _constants = new();

    public int NodeCount => _nodes.Count;

    public string Name(string prefix)
    {
        _counters.TryGetValue(prefix, out int n);
        _counters[prefix] = n + 1;
        return n == 0 ? prefix : $"{prefix}_{n}";
    }

    /// <summary>A float initializer (raw little-endian data).</summary>
    public string Initializer(string name, float[] values, params long[] dims)
    {
        var t = new ProtoWriter();
        foreach (long d in dims) t.Int64(1, d);
        t.Int64(2, (long)OnnxType.Float).String(8, name).Bytes(9, MemoryMarshal.AsBytes(values.AsSpan()));
        _initializers.Add(t);
        return name;
    }

    /// <summary>An int64 initializer.</summary>
    public string Initializer(string name, long[] values, params long[] dims)
    {
        var t = new ProtoWriter();
        foreach (long d in dims) t.Int64(1, d);
        t.Int64(2, (long)OnnxType.Int64).String(8, name).Bytes(9, MemoryMarshal.AsBytes(values.AsSpan()));
        _initializers.Add(t);
        return name;
    }

    /// <summary>A shared 1-D int64 constant, created once per distinct value list.</summary>
    public string Ints(params long[] values)
    {
        string key = "i:" + string.Join(",", values);
        if (!_constants.TryGetValue(key, out var name))
            _constants[key] = name = Initializer(Name("const_i64"), values, values.Length);
        return name;
    }

    /// <summary>A shared float constant of the given shape (default: a scalar-like [1]).</summary>
    public string Floats(float[] values, params long[] dims)
    {
        if (dims.Length == 0) dims = new long[] { values.Length };
        string key = "f:" + string.Join(",", values) + ":" + string.Join("x", dims);
        if (!_constants.TryGetValue(key, out var name))
            _constants[key] = name = Initializer(Name("const_f32"), values, dims);
        return name;
    }

    /// <summary>Adds a node; returns its first output (or all outputs when more than one is asked).</summary>
    public string Node(string op, string[] inputs, params (string Name, object Value)[] attributes) => NodeN(op, inputs, 1, attributes)[0];

    public string[] NodeN(string op, string[] inputs, int outputCount, params (string Name, object Value)[] attributes)
    {
        var outputs = Enumerable.Range(0, outputCount).Select(_ => Name(op.ToLowerInvariant())).ToArray();
        var node = new ProtoWriter();
        foreach (var i in inputs) node.String(1, i);
        foreach (var o in outputs) node.String(2, o);
        node.String(3, outputs[0] + "_node").String(4, op);
        foreach (var (name, value) in attributes)
        {
            var a = new ProtoWriter().String(1, name);
            switch (value)
            {
                case float f: a.Float(2, f).Int64(20, 1); break;
                case int i: a.Int64(3, i).Int64(20, 2); break;
                case long l: a.Int64(3, l).Int64(20, 2); break;
                case string s: a.String(4, s).Int64(20, 3); break;
                case long[] ints: a.PackedInt64(8, ints).Int64(20, 7); break;
                case float[] floats: a.PackedFloat(7, floats).Int64(20, 6); break;
                default: throw new ArgumentException($"Unsupported attribute value {value?.GetType().Name} for {name}.");
            }
            node.Message(5, a);
        }
        _nodes.Add(node);
        return outputs;
    }

    /// <summary>An Identity node whose output has the given name (graph outputs need fixed names).</summary>
    public void Identity(string input, string output)
    {
        _nodes.Add(new ProtoWriter().String(1, input).String(2, output).String(3, output + "_node").String(4, "Identity"));
    }

    /// <summary>Declares a graph input or output; dimensions are numbers or symbolic names (null = unknown).</summary>
    public void Input(string name, OnnxType type, params object?[] dims) => _inputs.Add(ValueInfo(name, type, dims));

    public void Output(string name, OnnxType type, params object?[] dims) => _outputs.Add(ValueInfo(name, type, dims));

    private static ProtoWriter ValueInfo(string name, OnnxType type, object?[] dims)
    {
        var shape = new ProtoWriter();
        foreach (var d in dims)
        {
            var dim = new ProtoWriter();
            if (d is string symbol) dim.String(2, symbol);
            else if (d is int or long) dim.Int64(1, Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture));
            shape.Message(1, dim);
        }
        var tensorType = new ProtoWriter().Int64(1, (long)type).Message(2, shape);
        return new ProtoWriter().String(1, name).Message(2, new ProtoWriter().Message(1, tensorType));
    }

    /// <summary>The serialised ModelProto.</summary>
    public void WriteModel(Stream stream, string graphName, string producerVersion, IReadOnlyDictionary<string, string> metadata)
    {
        var graph = new ProtoWriter();
        foreach (var n in _nodes) graph.Message(1, n);
        graph.String(2, graphName);
        foreach (var i in _initializers) graph.Message(5, i);
        foreach (var i in _inputs) graph.Message(11, i);
        foreach (var o in _outputs) graph.Message(12, o);
        var model = new ProtoWriter()
            .Int64(1, IrVersion)
            .String(2, "Microsoft.ML.RetinaNet")
            .String(3, producerVersion)
            .Message(7, graph)
            .Message(8, new ProtoWriter().String(1, "").Int64(2, OpsetVersion));
        foreach (var (key, value) in metadata)
            model.Message(14, new ProtoWriter().String(1, key).String(2, value));
        model.CopyTo(stream);
    }
}

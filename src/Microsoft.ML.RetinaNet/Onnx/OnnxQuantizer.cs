using System.Runtime.InteropServices;
using System.Text;

namespace Microsoft.ML.RetinaNet.Onnx;

/// <summary>The calibrated range of one activation tensor, over every value the calibration images produced there.</summary>
internal readonly record struct ActivationRange(float Min, float Max);

/// <summary>
/// Rewrites a float32 RetinaNet graph (the exporter's, from a fitted model or from model.zip) into the QDQ form ONNX
/// Runtime fuses into its int8 kernels:
/// <list type="bullet">
/// <item>every Conv whose weight and bias are initializers gets per-output-channel int8 weights (symmetric, zero point 0,
/// scale max|w|/127) and int32 biases (scale = input scale × weight scale), each behind its own DequantizeLinear;</item>
/// <item>every activation a Conv reads, and every Conv's output (taken after the Relu when a Relu is its only reader, so
/// the Relu folds into the quantisation), is quantised to uint8 with the calibrated range (widened to contain 0) and
/// dequantised in place: the producer's output is renamed and a QuantizeLinear → DequantizeLinear pair writes the old
/// name, so every reader is unchanged.</item>
/// </list>
/// Everything else — normalisation of the input, the FPN's resize, GroupNorm, sigmoid, top-k, box decoding, NMS — stays
/// float32 and byte for byte as it was. ONNX Runtime then runs DQ → Conv → Q as QLinearConv (u8 activations × s8
/// weights, VNNI on CPUs that have it), DQ → Add → Q as QLinearAdd, and drops the pairs around MaxPool.
/// </summary>
internal static class OnnxQuantizer
{
    private const string FloatSuffix = "_f32";

    /// <summary>The activation tensors whose ranges <see cref="Quantize"/> needs, in graph order.</summary>
    public static IReadOnlyList<string> CalibrationTensors(OnnxModel model) => Plan(model).Tensors;

    /// <summary>The same graph with <paramref name="tensors"/> added as float outputs (shape not declared), for calibration runs.</summary>
    public static byte[] WithOutputs(byte[] model, IEnumerable<string> tensors)
    {
        var extra = new ProtoWriter();
        foreach (var name in tensors)
        {
            var tensorType = new ProtoWriter().Int64(1, (long)OnnxType.Float);
            extra.Message(12, new ProtoWriter().String(1, name).Message(2, new ProtoWriter().Message(1, tensorType)));
        }
        return RewriteGraph(model, graph => Concat(graph, extra.ToArray()));
    }

    /// <summary>The QDQ graph for the given activation ranges (one for each of <see cref="CalibrationTensors"/>).</summary>
    public static byte[] Quantize(byte[] model, IReadOnlyDictionary<string, ActivationRange> ranges, out int convolutions)
    {
        var parsed = OnnxModelReader.Read(model);
        var plan = Plan(parsed);
        foreach (var t in plan.Tensors)
            if (!ranges.ContainsKey(t))
                throw new InvalidOperationException($"No calibrated range for the activation '{t}'; calibrate on this graph.");
        convolutions = plan.Convs.Count;
        var activation = plan.Tensors.ToDictionary(t => t, t => UInt8Parameters(ranges[t]), StringComparer.Ordinal);
        var dropped = new HashSet<string>(plan.Convs.SelectMany(c => new[] { c.Inputs[1], c.Inputs[2] }), StringComparer.Ordinal);
        var quantisedOutputs = new HashSet<string>(plan.Tensors, StringComparer.Ordinal);
        var convsByName = plan.Convs.ToDictionary(c => c.Name, StringComparer.Ordinal);

        return RewriteGraph(model, graph =>
        {
            var output = new ProtoWriter();
            var initializers = new ProtoWriter();
            var weights = new Dictionary<string, (string Values, string Scale, string Zero, float[] Scales)>(StringComparer.Ordinal);
            int nodeIndex = 0;
            foreach (var (field, fieldPayload) in Fields(graph))
            {
                var payload = fieldPayload;
                if (field == 5 && dropped.Contains(TensorName(payload)))
                    continue; // replaced by int8 / int32 initializers below
                if (field != 1)
                {
                    output.Bytes(field, payload);
                    continue;
                }
                var node = parsed.Nodes[nodeIndex++];
                if (convsByName.TryGetValue(node.Name, out var conv))
                {
                    // weights once per initializer (the heads share theirs over five levels), a DequantizeLinear per use
                    string w = conv.Inputs[1];
                    if (!weights.TryGetValue(w, out var q))
                    {
                        var tensor = parsed.Constants[w];
                        var (values, scales) = Int8PerChannel(tensor);
                        q = (Add(initializers, w + "_int8", 3, tensor.Dims, MemoryMarshal.AsBytes(values.AsSpan())),
                             Add(initializers, w + "_scale", 1, new[] { (long)scales.Length }, MemoryMarshal.AsBytes(scales.AsSpan())),
                             Add(initializers, w + "_zero", 3, new[] { (long)scales.Length }, new byte[scales.Length]), scales);
                        weights[w] = q;
                    }
                    string wDq = node.Name + "_w";
                    output.Message(1, NewNode("DequantizeLinear", new[] { q.Values, q.Scale, q.Zero }, wDq, axis: 0));
                    var bias = parsed.Constants[conv.Inputs[2]].Data;
                    float inputScale = activation[conv.Inputs[0]].Scale;
                    var biasScales = q.Scales.Select(s => inputScale * s).ToArray();
                    var biasValues = bias.Select((b, i) => (int)Math.Clamp(Math.Round(b / biasScales[i]), int.MinValue, int.MaxValue)).ToArray();
                    string bName = node.Name + "_b";
                    Add(initializers, bName + "_int32", 6, new[] { (long)bias.Length }, MemoryMarshal.AsBytes(biasValues.AsSpan()));
                    Add(initializers, bName + "_scale", 1, new[] { (long)bias.Length }, MemoryMarshal.AsBytes(biasScales.AsSpan()));
                    Add(initializers, bName + "_zero", 6, new[] { (long)bias.Length }, new byte[4 * bias.Length]);
                    output.Message(1, NewNode("DequantizeLinear", new[] { bName + "_int32", bName + "_scale", bName + "_zero" }, bName, axis: 0));
                    payload = OnnxRenamer.RenameNode(payload, new Dictionary<string, string> { [w] = wDq, [conv.Inputs[2]] = bName });
                }
                var produced = node.Outputs.Where(quantisedOutputs.Contains).ToArray();
                if (produced.Length == 0)
                {
                    output.Bytes(1, payload);
                    continue;
                }
                output.Bytes(1, OnnxRenamer.RenameNode(payload, produced.ToDictionary(o => o, o => o + FloatSuffix)));
                foreach (var o in produced)
                {
                    var (scale, zero) = activation[o];
                    string s = Add(initializers, o + "_scale", 1, Array.Empty<long>(), BitConverter.GetBytes(scale));
                    string z = Add(initializers, o + "_zero", 2, Array.Empty<long>(), new[] { zero });
                    output.Message(1, NewNode("QuantizeLinear", new[] { o + FloatSuffix, s, z }, o + "_uint8"));
                    output.Message(1, NewNode("DequantizeLinear", new[] { o + "_uint8", s, z }, o));
                }
            }
            return Concat(output.ToArray(), initializers.ToArray());
        });
    }

    /// <summary>uint8 scale and zero point for a range: [min, max] widened to contain 0, 255 steps.</summary>
    public static (float Scale, byte Zero) UInt8Parameters(ActivationRange range)
    {
        float min = Math.Min(range.Min, 0f), max = Math.Max(range.Max, 0f);
        if (!(max > min))
            return (1f, 0);
        float scale = (max - min) / 255f;
        byte zero = (byte)Math.Clamp(Math.Round(-min / scale), 0, 255);
        return (scale, zero);
    }

    /// <summary>Symmetric int8 per output channel (axis 0): scale max|w|/127 (1 for an all-zero filter), values in [−127, 127].</summary>
    public static (sbyte[] Values, float[] Scales) Int8PerChannel(OnnxTensor weight)
    {
        long channels = weight.Dims[0];
        int per = (int)(weight.Data.Length / channels);
        var values = new sbyte[weight.Data.Length];
        var scales = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            var filter = weight.Data.AsSpan(c * per, per);
            float maxAbs = 0;
            foreach (float v in filter) maxAbs = Math.Max(maxAbs, Math.Abs(v));
            float scale = maxAbs > 0 ? maxAbs / 127f : 1f;
            scales[c] = scale;
            for (int i = 0; i < per; i++)
                values[c * per + i] = (sbyte)Math.Clamp(Math.Round(filter[i] / scale), -127, 127);
        }
        return (values, scales);
    }

    private sealed record QuantizationPlan(IReadOnlyList<OnnxNode> Convs, IReadOnlyList<string> Tensors);

    /// <summary>Which Convs are quantised (weight and bias are float initializers) and which activations get QDQ pairs.</summary>
    private static QuantizationPlan Plan(OnnxModel model)
    {
        var readers = new Dictionary<string, List<OnnxNode>>(StringComparer.Ordinal);
        var produced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in model.Nodes)
        {
            foreach (var i in node.Inputs) (readers.TryGetValue(i, out var list) ? list : readers[i] = new()).Add(node);
            foreach (var o in node.Outputs) produced.Add(o);
        }
        var graphOutputs = new HashSet<string>(model.Outputs, StringComparer.Ordinal);
        var convs = model.Nodes.Where(n => n.OpType == "Conv" && n.Inputs.Length == 3
            && model.Constants.ContainsKey(n.Inputs[1]) && model.Constants.ContainsKey(n.Inputs[2])
            && model.Constants[n.Inputs[1]].Dims.Length == 4).ToList();
        var tensors = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Take(string t)
        {
            // only values a node writes (not graph inputs or constants) and that are not graph outputs themselves
            if (produced.Contains(t) && !graphOutputs.Contains(t) && seen.Add(t)) tensors.Add(t);
        }
        var quantised = new List<OnnxNode>();
        foreach (var conv in convs)
        {
            string output = conv.Outputs[0];
            if (readers.TryGetValue(output, out var r) && r.Count == 1 && r[0].OpType == "Relu")
                output = r[0].Outputs[0];
            // The heads' last convolutions (logits, box deltas: read by Transpose, not by another quantised op) stay
            // float32, weights and output: quantising the logits to 8 bits cost 0.03 AP50 on the main job's test split.
            if (!readers.TryGetValue(output, out var next) || !next.Any(n => n.OpType is "Conv" or "Add" or "MaxPool" or "Relu"))
                continue;
            Take(conv.Inputs[0]);
            Take(output);
            quantised.Add(conv);
        }
        var order = model.Nodes.SelectMany(n => n.Outputs).Select((o, i) => (o, i)).ToDictionary(p => p.o, p => p.i, StringComparer.Ordinal);
        tensors.Sort((a, b) => order[a].CompareTo(order[b]));
        // the quantised convs must read quantised inputs (the bias scale comes from the input's)
        return new QuantizationPlan(quantised.Where(c => seen.Contains(c.Inputs[0])).ToList(), tensors);
    }

    private static string Add(ProtoWriter initializers, string name, long dataType, long[] dims, ReadOnlySpan<byte> raw)
    {
        var t = new ProtoWriter();
        foreach (long d in dims) t.Int64(1, d);
        t.Int64(2, dataType).String(8, name).Bytes(9, raw);
        initializers.Message(5, t);
        return name;
    }

    private static ProtoWriter NewNode(string op, string[] inputs, string output, long? axis = null)
    {
        var node = new ProtoWriter();
        foreach (var i in inputs) node.String(1, i);
        node.String(2, output).String(3, output + "_node").String(4, op);
        if (axis is long a)
            node.Message(5, new ProtoWriter().String(1, "axis").Int64(3, a).Int64(20, 2));
        return node;
    }

    private static string TensorName(byte[] tensor)
    {
        foreach (var (field, payload) in Fields(tensor))
            if (field == 8) return Encoding.UTF8.GetString(payload);
        return "";
    }

    /// <summary>The model with its graph (field 7) replaced by <paramref name="rewrite"/>(graph); other fields as they were.</summary>
    private static byte[] RewriteGraph(byte[] model, Func<byte[], byte[]> rewrite)
    {
        var output = new ProtoWriter();
        bool found = false;
        foreach (var (field, payload, raw) in FieldsWithRaw(model))
        {
            if (field == 7)
            {
                found = true;
                output.Bytes(7, rewrite(payload!));
            }
            else
            {
                output.Raw(raw);
            }
        }
        if (!found) throw new InvalidDataException("The ONNX model has no graph.");
        return output.ToArray();
    }

    private static byte[] Concat(byte[] a, byte[] b)
    {
        var result = new byte[a.Length + b.Length];
        a.CopyTo(result, 0);
        b.CopyTo(result, a.Length);
        return result;
    }

    /// <summary>The length-delimited fields of a message (the only kind a GraphProto and TensorProto name use here).</summary>
    private static IEnumerable<(int Field, byte[] Payload)> Fields(byte[] message) =>
        FieldsWithRaw(message).Where(f => f.Payload is not null).Select(f => (f.Field, f.Payload!)).ToList();

    /// <summary>Every field: its number, its payload when length-delimited (null otherwise), and its bytes including the tag.</summary>
    private static List<(int Field, byte[]? Payload, byte[] Raw)> FieldsWithRaw(byte[] data)
    {
        var fields = new List<(int Field, byte[]? Payload, byte[] Raw)>();
        var reader = new ProtoReader(data);
        try
        {
            while (reader.Next(out int field, out var payload, out _))
                fields.Add((field, reader.LastWireType == 2 ? payload.ToArray() : null, data[reader.LastStart..reader.Position]));
        }
        catch (InvalidDataException e) when (e.Message.StartsWith("it ", StringComparison.Ordinal))
        {
            throw new InvalidDataException("The ONNX model cannot be quantised: " + e.Message, e);
        }
        return fields;
    }
}

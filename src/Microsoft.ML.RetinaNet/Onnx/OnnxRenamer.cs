namespace Microsoft.ML.RetinaNet.Onnx;

/// <summary>
/// Renames values (graph inputs, outputs, value infos and the node inputs and outputs that refer to them) in a serialised
/// ONNX ModelProto, copying every other field byte for byte. Walks ModelProto.graph (7) → GraphProto.node (1),
/// input (11), output (12), value_info (13) → NodeProto.input (1) / output (2) / name (3, "v_node") and ValueInfoProto.name (1). Graphs inside
/// node attributes are not visited: the exporter writes none.
/// </summary>
internal static class OnnxRenamer
{
    private enum Message { Model, Graph, Node, ValueInfo }

    public static byte[] Rename(byte[] model, IReadOnlyDictionary<string, string> names)
    {
        using var output = new MemoryStream(model.Length);
        Copy(model, Message.Model, names, output);
        return output.ToArray();
    }

    /// <summary>One serialised NodeProto with its inputs and outputs (and the "v_node" name) renamed.</summary>
    public static byte[] RenameNode(byte[] node, IReadOnlyDictionary<string, string> names)
    {
        using var output = new MemoryStream(node.Length + 16);
        Copy(node, Message.Node, names, output);
        return output.ToArray();
    }

    /// <summary>The exporter names the node that writes value v "v_node"; those names follow the values'.</summary>
    private static string? Renamed(Message message, int field, string text, IReadOnlyDictionary<string, string> names)
    {
        if ((message, field) is (Message.Node, 1 or 2) or (Message.ValueInfo, 1))
            return names.TryGetValue(text, out var value) ? value : null;
        if ((message, field) is (Message.Node, 3) && text.EndsWith(NodeSuffix, StringComparison.Ordinal)
            && names.TryGetValue(text[..^NodeSuffix.Length], out var output))
            return output + NodeSuffix;
        return null;
    }

    private const string NodeSuffix = "_node";

    private static void Copy(ReadOnlySpan<byte> data, Message message, IReadOnlyDictionary<string, string> names, Stream output)
    {
        var reader = new ProtoReader(data);
        try
        {
            while (reader.Next(out int field, out var payload, out _))
            {
                Message? child = reader.LastWireType != 2 ? null : (message, field) switch
                {
                    (Message.Model, 7) => Message.Graph,
                    (Message.Graph, 1) => Message.Node,
                    (Message.Graph, 11 or 12 or 13) => Message.ValueInfo,
                    _ => null,
                };
                string? renamed = reader.LastWireType == 2 && child is null && message is Message.Node or Message.ValueInfo
                    ? Renamed(message, field, System.Text.Encoding.UTF8.GetString(payload), names) : null;
                if (child is null && renamed is null)
                {
                    output.Write(data[reader.LastStart..reader.Position]); // as it was
                    continue;
                }
                byte[] replaced;
                if (child is { } c)
                {
                    using var inner = new MemoryStream(payload.Length);
                    Copy(payload, c, names, inner);
                    replaced = inner.ToArray();
                }
                else
                {
                    replaced = System.Text.Encoding.UTF8.GetBytes(renamed!);
                }
                ProtoWriter.WriteVarint(output, (ulong)field << 3 | 2);
                ProtoWriter.WriteVarint(output, (ulong)replaced.Length);
                output.Write(replaced);
            }
        }
        catch (InvalidDataException e) when (e.Message.StartsWith("it ", StringComparison.Ordinal))
        {
            throw new InvalidDataException("The ONNX model cannot be rewritten: " + e.Message, e);
        }
    }
}

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
        int position = 0;
        while (position < data.Length)
        {
            int start = position;
            ulong tag = ReadVarint(data, ref position);
            int field = (int)(tag >> 3), wireType = (int)(tag & 7);
            switch (wireType)
            {
                case 0:
                    ReadVarint(data, ref position);
                    break;
                case 1:
                    position += 8;
                    break;
                case 5:
                    position += 4;
                    break;
                case 2:
                {
                    int length = checked((int)ReadVarint(data, ref position));
                    if (length < 0 || position + length > data.Length) throw new InvalidDataException("The ONNX model is truncated.");
                    var payload = data.Slice(position, length);
                    position += length;
                    Message? child = (message, field) switch
                    {
                        (Message.Model, 7) => Message.Graph,
                        (Message.Graph, 1) => Message.Node,
                        (Message.Graph, 11 or 12 or 13) => Message.ValueInfo,
                        _ => null,
                    };
                    string? renamed = child is null && (message is Message.Node or Message.ValueInfo)
                        ? Renamed(message, field, System.Text.Encoding.UTF8.GetString(payload), names) : null;
                    if (child is null && renamed is null)
                        break; // copied below as it was
                    byte[] replaced;
                    if (child is { } c)
                    {
                        using var inner = new MemoryStream(length);
                        Copy(payload, c, names, inner);
                        replaced = inner.ToArray();
                    }
                    else
                    {
                        replaced = System.Text.Encoding.UTF8.GetBytes(renamed!);
                    }
                    ProtoWriter.WriteVarint(output, tag);
                    ProtoWriter.WriteVarint(output, (ulong)replaced.Length);
                    output.Write(replaced);
                    continue;
                }
                default:
                    throw new InvalidDataException($"The ONNX model has an unknown protobuf wire type {wireType}.");
            }
            if (position > data.Length) throw new InvalidDataException("The ONNX model is truncated.");
            output.Write(data[start..position]);
        }
    }

    /// <summary>A base-128 varint at <paramref name="position"/>, which moves past it.</summary>
    public static ulong ReadVarint(ReadOnlySpan<byte> data, ref int position)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length) throw new InvalidDataException("The ONNX model is truncated.");
            byte b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new InvalidDataException("The ONNX model has a malformed varint.");
    }
}

using System.Text;

namespace Microsoft.ML.RetinaNet.Onnx;

/// <summary>
/// A minimal protocol-buffers encoder (wire types 0 varint, 2 length-delimited, 5 fixed32), enough to write ONNX's
/// ModelProto. Nested messages are written by a child writer and copied in with their length.
/// </summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream _buffer = new();

    public long Length => _buffer.Length;

    private void Varint(ulong value) => WriteVarint(_buffer, value);

    /// <summary>A base-128 varint, 7 bits a byte, low bits first.</summary>
    public static void WriteVarint(Stream output, ulong value)
    {
        while (value >= 0x80)
        {
            output.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        output.WriteByte((byte)value);
    }

    private void Tag(int field, int wireType) => Varint((ulong)((field << 3) | wireType));

    public ProtoWriter Int64(int field, long value)
    {
        Tag(field, 0);
        Varint(unchecked((ulong)value));
        return this;
    }

    public ProtoWriter Float(int field, float value)
    {
        Tag(field, 5);
        Span<byte> bytes = stackalloc byte[4];
        BitConverter.TryWriteBytes(bytes, value);
        _buffer.Write(bytes);
        return this;
    }

    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, 2);
        Varint((ulong)value.Length);
        _buffer.Write(value);
        return this;
    }

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Message(int field, ProtoWriter message)
    {
        Tag(field, 2);
        Varint((ulong)message._buffer.Length);
        message._buffer.Position = 0;
        message._buffer.CopyTo(_buffer);
        return this;
    }

    public ProtoWriter PackedInt64(int field, IReadOnlyCollection<long> values)
    {
        var packed = new ProtoWriter();
        foreach (long v in values) packed.Varint(unchecked((ulong)v));
        Tag(field, 2);
        Varint((ulong)packed._buffer.Length);
        packed._buffer.Position = 0;
        packed._buffer.CopyTo(_buffer);
        return this;
    }

    public ProtoWriter PackedFloat(int field, IReadOnlyCollection<float> values)
    {
        Tag(field, 2);
        Varint((ulong)(values.Count * 4));
        Span<byte> bytes = stackalloc byte[4];
        foreach (float v in values)
        {
            BitConverter.TryWriteBytes(bytes, v);
            _buffer.Write(bytes);
        }
        return this;
    }

    /// <summary>Bytes already encoded as fields (tag included), copied as they are.</summary>
    public ProtoWriter Raw(ReadOnlySpan<byte> fields)
    {
        _buffer.Write(fields);
        return this;
    }

    public byte[] ToArray() => _buffer.ToArray();

    public void CopyTo(Stream stream)
    {
        _buffer.Position = 0;
        _buffer.CopyTo(stream);
    }
}

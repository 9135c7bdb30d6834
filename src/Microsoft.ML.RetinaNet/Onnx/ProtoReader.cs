using System.Buffers.Binary;

namespace Microsoft.ML.RetinaNet.Onnx;

/// <summary>
/// Walks the fields of one serialised protobuf message: for each, its number, its wire type, and its payload
/// (length-delimited) or value (varint, fixed64, fixed32), with the offsets that let a caller copy a field byte for byte.
/// The one protobuf reader of the ONNX code (reading ML.NET's ResNet-18, renaming and quantising our graphs). A malformed
/// message gives <see cref="InvalidDataException"/> whose message continues a sentence: "it is truncated.".
/// </summary>
internal ref struct ProtoReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    public ProtoReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
        LastWireType = -1;
        LastStart = 0;
    }

    /// <summary>Wire type of the field <see cref="Next"/> read last (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).</summary>
    public int LastWireType { get; private set; }

    /// <summary>Offset of the tag of the field <see cref="Next"/> read last.</summary>
    public int LastStart { get; private set; }

    /// <summary>Offset just past the field <see cref="Next"/> read last.</summary>
    public readonly int Position => _position;

    public readonly bool HasMore => _position < _data.Length;

    /// <summary>The next field; false at the end of the message.</summary>
    public bool Next(out int field, out ReadOnlySpan<byte> payload, out ulong value)
    {
        payload = default;
        value = 0;
        field = 0;
        if (_position >= _data.Length) return false;
        LastStart = _position;
        ulong tag = Varint();
        field = (int)(tag >> 3);
        LastWireType = (int)(tag & 7);
        switch (LastWireType)
        {
            case 0:
                value = Varint();
                break;
            case 1:
                Need(8);
                value = BinaryPrimitives.ReadUInt64LittleEndian(_data[_position..]);
                _position += 8;
                break;
            case 5:
                Need(4);
                value = BinaryPrimitives.ReadUInt32LittleEndian(_data[_position..]);
                _position += 4;
                break;
            case 2:
                ulong length = Varint();
                if (length > (ulong)(_data.Length - _position)) throw new InvalidDataException("it is truncated.");
                payload = _data.Slice(_position, (int)length);
                _position += (int)length;
                break;
            default:
                throw new InvalidDataException($"it has an unknown protobuf wire type {LastWireType}.");
        }
        return true;
    }

    private readonly void Need(int bytes)
    {
        if (_data.Length - _position < bytes) throw new InvalidDataException("it is truncated.");
    }

    /// <summary>A base-128 varint at the current offset.</summary>
    public ulong Varint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            Need(1);
            byte b = _data[_position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw new InvalidDataException("it has a malformed varint.");
    }
}

using System.IO.Compression;
using System.Text;

namespace Microsoft.ML.RetinaNet.Tests.Fuzzing;

/// <summary>
/// Writes <c>.pth</c> files byte by byte as <c>torch.save(state_dict, path)</c> lays them out — a zip holding
/// <c>archive/data.pkl</c> (a protocol-2 pickle of an OrderedDict whose values are
/// <c>torch._utils._rebuild_tensor_v2(persistent storage, offset, size, stride, requires_grad, hooks)</c>),
/// <c>archive/data/&lt;key&gt;</c> (the storages' raw little-endian bytes) and <c>archive/version</c> — so that tests can make
/// valid files and hostile ones (other Python globals, storages declared far larger than their bytes, truncated zips)
/// without Python.
/// </summary>
internal static class PthFile
{
    /// <summary>One float32 tensor of the state_dict: its values, its size, and the storage length the pickle declares.</summary>
    public sealed record Entry(string Name, float[] Values, long[] Size, long? DeclaredNumel = null);

    public static byte[] StateDict(IReadOnlyList<Entry> entries, byte[]? pickleOverride = null)
    {
        using var zipBytes = new MemoryStream();
        using (var zip = new ZipArchive(zipBytes, ZipArchiveMode.Create, leaveOpen: true))
        {
            Add(zip, "archive/data.pkl", pickleOverride ?? Pickle(entries));
            for (int i = 0; i < entries.Count; i++)
            {
                var bytes = new byte[4 * entries[i].Values.Length];
                Buffer.BlockCopy(entries[i].Values, 0, bytes, 0, bytes.Length);
                Add(zip, $"archive/data/{i}", bytes);
            }
            Add(zip, "archive/version", Encoding.ASCII.GetBytes("3\n"));
        }
        return zipBytes.ToArray();
    }

    private static void Add(ZipArchive zip, string name, byte[] bytes)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.NoCompression);
        using var stream = entry.Open();
        stream.Write(bytes);
    }

    /// <summary>The pickle torch.save writes for these tensors (contiguous, offset 0, requires_grad false).</summary>
    public static byte[] Pickle(IReadOnlyList<Entry> entries)
    {
        var p = new PickleWriter();
        p.Proto();
        p.Global("collections", "OrderedDict");
        p.EmptyTuple();
        p.Reduce();
        foreach (var (e, key) in entries.Select((e, i) => (e, i)))
        {
            p.Unicode(e.Name);
            p.Global("torch._utils", "_rebuild_tensor_v2");
            p.Mark();
            // persistent id ('storage', torch.FloatStorage, key, 'cpu', numel)
            p.Mark();
            p.Unicode("storage");
            p.Global("torch", "FloatStorage");
            p.Unicode(key.ToString(System.Globalization.CultureInfo.InvariantCulture));
            p.Unicode("cpu");
            p.Int(e.DeclaredNumel ?? e.Values.Length);
            p.Tuple();
            p.BinPersId();
            p.Int(0); // storage offset
            p.IntTuple(e.Size);
            p.IntTuple(Strides(e.Size));
            p.False();
            p.Global("collections", "OrderedDict");
            p.EmptyTuple();
            p.Reduce();
            p.Tuple();
            p.Reduce();
            p.SetItem();
        }
        p.Stop();
        return p.ToArray();
    }

    /// <summary>A pickle that calls <paramref name="module"/>.<paramref name="name"/>(<paramref name="argument"/>) when loaded.</summary>
    public static byte[] CallingPickle(string module, string name, string argument)
    {
        var p = new PickleWriter();
        p.Proto();
        p.Global(module, name);
        p.Mark();
        p.Unicode(argument);
        p.Tuple();
        p.Reduce();
        p.Stop();
        return p.ToArray();
    }

    private static long[] Strides(long[] size)
    {
        var strides = new long[size.Length];
        long s = 1;
        for (int i = size.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= size[i];
        }
        return strides;
    }

    /// <summary>The pickle opcodes these files need (protocol 2).</summary>
    private sealed class PickleWriter
    {
        private readonly MemoryStream _s = new();

        public byte[] ToArray() => _s.ToArray();

        private void Op(byte op) => _s.WriteByte(op);

        public void Proto()
        {
            Op(0x80);
            Op(2);
        }

        public void Global(string module, string name)
        {
            Op((byte)'c');
            _s.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
        }

        public void EmptyTuple() => Op((byte)')');

        public void Reduce() => Op((byte)'R');

        public void Mark() => Op((byte)'(');

        public void Tuple() => Op((byte)'t');

        public void BinPersId() => Op((byte)'Q');

        public void False() => Op(0x89);

        public void SetItem() => Op((byte)'s');

        public void Stop() => Op((byte)'.');

        public void Unicode(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            Op((byte)'X');
            _s.Write(BitConverter.GetBytes(bytes.Length));
            _s.Write(bytes);
        }

        public void Int(long value)
        {
            if (value is >= int.MinValue and <= int.MaxValue)
            {
                Op((byte)'J'); // BININT, 4 bytes little-endian
                _s.Write(BitConverter.GetBytes((int)value));
                return;
            }
            Op(0x8a); // LONG1: length byte, then little-endian two's complement
            var bytes = BitConverter.GetBytes(value);
            _s.WriteByte((byte)bytes.Length);
            _s.Write(bytes);
        }

        public void IntTuple(long[] values)
        {
            Mark();
            foreach (long v in values) Int(v);
            Tuple();
        }
    }
}

using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Microsoft.ML.RetinaNet.Weights;

/// <summary>
/// Checks a <c>.pth</c> file before anything unpickles it. A pickle is a program for Python's pickle machine; the one
/// <c>torch.save(model.state_dict(), path)</c> writes only builds an OrderedDict of tensors. This walks the program without
/// running it — a stack of plain values, no object is constructed — and refuses the file when it names any Python global
/// other than those a state_dict uses (OrderedDict, torch's tensor rebuilders and storage types), uses an opcode torch.save
/// does not write, or describes a tensor that needs more bytes than its storage in the zip holds (so no reader is asked
/// to allocate memory the file does not back). What it cannot refuse it leaves to TorchSharp.PyBridge's reader.
/// </summary>
internal static class PthPreflight
{
    private static readonly HashSet<string> AllowedGlobals = new(StringComparer.Ordinal)
    {
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
    };

    private static readonly Dictionary<string, int> StorageBytes = new(StringComparer.Ordinal)
    {
        ["torch.FloatStorage"] = 4, ["torch.DoubleStorage"] = 8, ["torch.HalfStorage"] = 2, ["torch.BFloat16Storage"] = 2,
        ["torch.LongStorage"] = 8, ["torch.IntStorage"] = 4, ["torch.ShortStorage"] = 2, ["torch.CharStorage"] = 1,
        ["torch.ByteStorage"] = 1, ["torch.BoolStorage"] = 1,
    };

    private const string Advice = "Save the weights alone with torch.save(model.state_dict(), path) and give that file.";

    private sealed record Global(string Name);

    private sealed record Storage(string Key, int ElementBytes);

    private sealed record Mark;

    private sealed record Opaque;

    private static readonly Mark TheMark = new();
    private static readonly Opaque Value = new();

    /// <summary>Throws <see cref="InvalidDataException"/> naming <paramref name="path"/> when the file is not a plain state_dict.</summary>
    public static void Check(string path)
    {
        try
        {
            CheckZip(path);
        }
        catch (Exception e) when (e is InvalidDataException or IOException && !e.Message.StartsWith($"'{path}'", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"'{path}' is not a readable PyTorch state_dict: the zip archive torch.save writes is damaged " +
                $"({e.Message}). {Advice}", e);
        }
    }

    private static void CheckZip(string path)
    {
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}' is not a readable PyTorch state_dict: not the zip archive torch.save writes ({e.Message}). " +
                Advice, e);
        }
        using (zip)
        {
            var pickle = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl")
                ?? throw new InvalidDataException($"'{path}' holds no data.pkl, so it is not a file torch.save wrote. {Advice}");
            string folder = pickle.FullName[..^"data.pkl".Length];
            var storages = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var entry in zip.Entries.Where(e => e.FullName.StartsWith(folder + "data/", StringComparison.Ordinal)))
                storages[entry.FullName[(folder.Length + 5)..]] = entry.Length;
            byte[] program;
            using (var stream = pickle.Open())
            using (var copy = new MemoryStream())
            {
                stream.CopyTo(copy);
                program = copy.ToArray();
            }
            try
            {
                try
                {
                    Walk(program, storages);
                }
                catch (OverflowException e)
                {
                    throw new InvalidDataException("its pickle holds a number too large for a length, a size or a stride.", e);
                }
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"'{path}' is not a plain PyTorch state_dict: {e.Message} Nothing in it was run. {Advice}", e);
            }
        }
    }

    private static void Walk(byte[] p, IReadOnlyDictionary<string, long> storages)
    {
        var stack = new List<object>();
        var memo = new Dictionary<long, object>();
        int i = 0;
        object Pop()
        {
            if (stack.Count == 0) throw new InvalidDataException("its pickle pops an empty stack.");
            var top = stack[^1];
            stack.RemoveAt(stack.Count - 1);
            return top;
        }
        List<object> PopToMark()
        {
            int mark = stack.FindLastIndex(o => o is Mark);
            if (mark < 0) throw new InvalidDataException("its pickle closes a group it never opened.");
            var items = stack.GetRange(mark + 1, stack.Count - mark - 1);
            stack.RemoveRange(mark, stack.Count - mark);
            return items;
        }
        ReadOnlySpan<byte> Take(int count)
        {
            if (count < 0 || i + count > p.Length) throw new InvalidDataException("its pickle is truncated.");
            var span = p.AsSpan(i, count);
            i += count;
            return span;
        }
        string Line()
        {
            int end = Array.IndexOf(p, (byte)'\n', i);
            if (end < 0) throw new InvalidDataException("its pickle is truncated.");
            string text = Encoding.UTF8.GetString(p, i, end - i);
            i = end + 1;
            return text;
        }
        while (true)
        {
            if (i >= p.Length) throw new InvalidDataException("its pickle ends without a STOP.");
            byte op = p[i++];
            switch (op)
            {
                case 0x80: Take(1); break; // PROTO
                case 0x95: Take(8); break; // FRAME
                case (byte)'.': return; // STOP
                case (byte)'c': stack.Add(CheckGlobal(Line() + "." + Line())); break; // GLOBAL
                case 0x93: // STACK_GLOBAL
                {
                    var name = Pop() as string;
                    var module = Pop() as string;
                    if (name is null || module is null) throw new InvalidDataException("its pickle names a global by something other than text.");
                    stack.Add(CheckGlobal(module + "." + name));
                    break;
                }
                case (byte)'(': stack.Add(TheMark); break;
                case (byte)')': stack.Add(new List<object>()); break; // EMPTY_TUPLE
                case (byte)'t': stack.Add(PopToMark()); break; // TUPLE
                case 0x85: stack.Add(new List<object> { Pop() }); break; // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); stack.Add(new List<object> { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); stack.Add(new List<object> { a, b, c }); break; } // TUPLE3
                case (byte)'}': case (byte)']': stack.Add(Value); break; // EMPTY_DICT, EMPTY_LIST
                case (byte)'s': Pop(); Pop(); break; // SETITEM onto the dict below
                case (byte)'u': case (byte)'e': PopToMark(); break; // SETITEMS, APPENDS
                case (byte)'a': Pop(); break; // APPEND
                case (byte)'b': Pop(); break; // BUILD: state onto the object below
                case (byte)'N': case 0x88: case 0x89: stack.Add(Value); break; // NONE, NEWTRUE, NEWFALSE
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // BININT
                case (byte)'K': stack.Add((long)Take(1)[0]); break; // BININT1
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break; // BININT2
                case 0x8a: stack.Add(Long(Take(Take(1)[0]))); break; // LONG1
                case (byte)'G': Take(8); stack.Add(Value); break; // BINFLOAT
                case (byte)'X': // BINUNICODE
                {
                    uint length = BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
                    if (length > p.Length - i) throw new InvalidDataException("its pickle is truncated.");
                    stack.Add(Encoding.UTF8.GetString(Take((int)length)));
                    break;
                }
                case 0x8c: stack.Add(Encoding.UTF8.GetString(Take(Take(1)[0]))); break; // SHORT_BINUNICODE
                case (byte)'q': memo[Take(1)[0]] = Top(stack); break; // BINPUT
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Top(stack); break; // LONG_BINPUT
                case 0x94: memo[memo.Count] = Top(stack); break; // MEMOIZE
                case (byte)'h': stack.Add(Memo(memo, Take(1)[0])); break; // BINGET
                case (byte)'j': stack.Add(Memo(memo, BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break; // LONG_BINGET
                case (byte)'Q': stack.Add(Persistent(Pop(), storages)); break; // BINPERSID
                case (byte)'R': // REDUCE
                {
                    var args = Pop() as List<object> ?? throw new InvalidDataException("its pickle calls something with arguments that are not a "
                        + "tuple.");
                    var callable = Pop() as Global ?? throw new InvalidDataException("its pickle calls something that is not a known global.");
                    stack.Add(callable.Name switch
                    {
                        "torch._utils._rebuild_tensor_v2" => Tensor(args, storages),
                        _ => Value,
                    });
                    break;
                }
                default:
                    throw new InvalidDataException($"its pickle uses opcode 0x{op:x2} at byte {i - 1}, which torch.save does not write.");
            }
        }
    }

    private static object Top(List<object> stack)
        => stack.Count > 0 ? stack[^1] : throw new InvalidDataException("its pickle memoises an empty stack.");

    private static object Memo(Dictionary<long, object> memo, long key) =>
        memo.TryGetValue(key, out var value) ? value : throw new InvalidDataException($"its pickle reads memo {key}, which it never wrote.");

    private static long Long(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > 8) throw new InvalidDataException($"its pickle holds a {bytes.Length}-byte integer; a tensor's sizes fit 8 bytes.");
        long value = 0;
        for (int k = bytes.Length - 1; k >= 0; k--)
            value = value << 8 | bytes[k];
        if (bytes.Length is > 0 and < 8 && (bytes[^1] & 0x80) != 0)
            value -= 1L << (8 * bytes.Length); // two's complement
        return value;
    }

    private static Global CheckGlobal(string name)
    {
        if (AllowedGlobals.Contains(name) || StorageBytes.ContainsKey(name))
            return new Global(name);
        throw new InvalidDataException($"its pickle names the Python global '{name}', which a state_dict does not hold (loaded by Python's " +
            "pickle it could run code).");
    }

    private static Storage Persistent(object id, IReadOnlyDictionary<string, long> storages)
    {
        // ('storage', torch.FloatStorage, key, location, numel)
        if (id is not List<object> { Count: >= 5 } t || t[0] is not "storage" || t[1] is not Global type || t[2] is not string key)
            throw new InvalidDataException("its pickle refers to a persistent object that is not a tensor storage.");
        if (!StorageBytes.TryGetValue(type.Name, out int bytes))
            throw new InvalidDataException($"its pickle refers to a storage of type '{type.Name}'.");
        if (!storages.ContainsKey(key))
            throw new InvalidDataException($"its pickle refers to storage '{key}', which the zip does not hold.");
        return new Storage(key, bytes);
    }

    private static object Tensor(List<object> args, IReadOnlyDictionary<string, long> storages)
    {
        if (args.Count < 4 || args[0] is not Storage storage || args[1] is not long offset || args[2] is not List<object> size
            || args[3] is not List<object> stride || size.Count != stride.Count || size.Concat(stride).Any(v => v is not long))
            throw new InvalidDataException("its pickle rebuilds a tensor from arguments that are not (storage, offset, size, stride, …).");
        var dims = size.Cast<long>().ToArray();
        var steps = stride.Cast<long>().ToArray();
        if (offset < 0 || dims.Any(d => d < 0) || steps.Any(s => s < 0))
            throw new InvalidDataException($"its pickle rebuilds a tensor of size [{string.Join(", ", dims)}] with negative numbers.");
        long available = storages[storage.Key] / storage.ElementBytes;
        if (dims.Any(d => d == 0))
            return Value;
        // the last element the view reaches: offset + Σ (size − 1) · stride, checked against the storage's elements
        decimal last = offset + dims.Zip(steps, (d, s) => (decimal)(d - 1) * s).Sum();
        if (last >= available)
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"its pickle rebuilds a tensor of size [{string.Join(", ", dims)}] that reaches element {last} of a storage of {available}."));
        return Value;
    }
}

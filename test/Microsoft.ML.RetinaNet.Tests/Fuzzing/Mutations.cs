using System.Text;
using CsCheck;

namespace Microsoft.ML.RetinaNet.Tests.Fuzzing;

/// <summary>
/// Byte-level mutations of a valid file as a CsCheck generator: 1–4 edits drawn from bit flips, deleted and duplicated
/// ranges, random bytes, truncation, bracketed values swapped for null, [] or {}, and tokens that parsers trip on (numbers out of range, NaN, null, brackets, quotes,
/// markup). Positions are fractions of the current length, so every edit applies to any file.
/// </summary>
internal static class Mutations
{
    private static readonly byte[][] Tokens = new[]
    {
        "-1", "0", "NaN", "Infinity", "-0", "1e309", "-1e309", "1e-400", "99999999999999999999999", "null", "true", "[]", "{}",
        "[", "]", "{", "}", "\"", "\"\"", ",", ":", ",,,,,", "\n", "\r\n", "\t", " ", "\\u0000", "\\", "<", ">", "</", "/>",
        "<object>", "</object>", "<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\">]>", "&a;", "&amp;", "<![CDATA[", "]]>", "\u00e9", "\ufeff",
    }.Select(Encoding.UTF8.GetBytes).Append(new byte[] { 0xFF, 0xFE, 0x00 }).Append(new byte[] { 0xC3 }).ToArray();

    private static readonly string[] Replacements = { "null", "[]", "{}", "0", "\"\"", "[null]", "{\"id\": null}", "-1" };

    private static int At(double fraction, int length) => Math.Clamp((int)(fraction * (length + 1)), 0, length);

    private static byte[] Splice(byte[] data, int start, int removed, ReadOnlySpan<byte> inserted)
    {
        removed = Math.Min(removed, data.Length - start);
        var result = new byte[data.Length - removed + inserted.Length];
        data.AsSpan(0, start).CopyTo(result);
        inserted.CopyTo(result.AsSpan(start));
        data.AsSpan(start + removed).CopyTo(result.AsSpan(start + inserted.Length));
        return result;
    }

    /// <summary>One edit; its name says what it did, for the failure report.</summary>
    private static readonly Gen<(string Name, Func<byte[], byte[]> Apply)> Edit = Gen.OneOf(
        Gen.Select(Gen.Double.Unit, Gen.Byte[1, 255], (p, mask) => ($"xor 0x{mask:X2} at {p:F3}", (Func<byte[], byte[]>)(d =>
        {
            if (d.Length == 0) return d;
            var copy = (byte[])d.Clone();
            copy[Math.Min(At(p, d.Length), d.Length - 1)] ^= mask;
            return copy;
        }))),
        Gen.Select(Gen.Double.Unit, Gen.Int[1, 64], (p, n) => ($"delete {n} at {p:F3}", (Func<byte[], byte[]>)(d => Splice(d, At(p, d.Length), n, default)))),
        Gen.Select(Gen.Double.Unit, Gen.Byte.Array[1, 16], (p, bytes) => ($"insert {bytes.Length} random bytes at {p:F3}", (Func<byte[], byte[]>)(d => Splice(d, At(p, d.Length), 0, bytes)))),
        Gen.Select(Gen.Double.Unit, Gen.Int[0, Tokens.Length - 1], Gen.Bool, (p, t, replace) =>
            ($"{(replace ? "overwrite with" : "insert")} token {Encoding.UTF8.GetString(Tokens[t])} at {p:F3}", (Func<byte[], byte[]>)(d =>
                Splice(d, At(p, d.Length), replace ? Tokens[t].Length : 0, Tokens[t])))),
        Gen.Select(Gen.Double.Unit, Gen.Double.Unit, Gen.Int[1, 200], (from, to, n) => ($"duplicate {n} from {from:F3} to {to:F3}", (Func<byte[], byte[]>)(d =>
        {
            int start = At(from, d.Length), count = Math.Min(n, d.Length - start);
            return Splice(d, At(to, d.Length), 0, d.AsSpan(start, count).ToArray());
        }))),
        Gen.Double.Unit.Select(p => ($"truncate at {p:F3}", (Func<byte[], byte[]>)(d => d.AsSpan(0, At(p, d.Length)).ToArray()))),
        Gen.Select(Gen.Double.Unit, Gen.Int[0, Replacements.Length - 1], (p, r) => ($"replace the bracketed value after {p:F3} with {Replacements[r]}", (Func<byte[], byte[]>)(d =>
            ReplaceBracketed(d, At(p, d.Length), Encoding.UTF8.GetBytes(Replacements[r]))))));

    /// <summary>Replaces the first [...] or {...} starting at or after <paramref name="from"/> (matched by nesting) with a value.</summary>
    private static byte[] ReplaceBracketed(byte[] d, int from, byte[] value)
    {
        int start = Array.FindIndex(d, from, b => b is (byte)'{' or (byte)'[');
        if (start < 0) return d;
        int depth = 0;
        for (int i = start; i < d.Length; i++)
        {
            if (d[i] is (byte)'{' or (byte)'[') depth++;
            else if (d[i] is (byte)'}' or (byte)']' && --depth == 0)
                return Splice(d, start, i - start + 1, value);
        }
        return d;
    }

    /// <summary>A mutated copy of <paramref name="valid"/> and the list of edits made.</summary>
    public static Gen<(byte[] Bytes, string Edits)> Of(byte[] valid) =>
        Edit.Array[1, 4].Select(edits => (edits.Aggregate(valid, (d, e) => e.Apply(d)), string.Join("; ", edits.Select(e => e.Name))));
}

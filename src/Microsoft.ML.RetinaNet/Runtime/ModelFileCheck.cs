using System.IO.Compression;

namespace Microsoft.ML.RetinaNet.Runtime;

/// <summary>
/// Verifies an ML.NET model file (a zip) before loading: every entry must decompress and match the CRC-32 and length its
/// header records. ML.NET's loader does not check this, so a flipped byte inside the ONNX graph would otherwise load and
/// score with damaged weights.
/// </summary>
internal static class ModelFileCheck
{
    private static readonly uint[] Table = BuildTable();

    public static void Verify(string path)
    {
        using var archive = ZipFile.OpenRead(path);
        var buffer = new byte[1 << 16];
        foreach (var entry in archive.Entries)
        {
            uint crc = 0xFFFFFFFF;
            long length = 0;
            using (var stream = entry.Open())
            {
                int read;
                while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
                {
                    length += read;
                    for (int i = 0; i < read; i++)
                        crc = Table[(crc ^ buffer[i]) & 0xFF] ^ (crc >> 8);
                }
            }
            crc ^= 0xFFFFFFFF;
            if (crc != entry.Crc32 || length != entry.Length)
                throw new InvalidDataException($"entry '{entry.FullName}' does not match its checksum (CRC-32 {crc:x8}, "
                    + $"recorded {entry.Crc32:x8}; {length} of {entry.Length} bytes)");
        }
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}

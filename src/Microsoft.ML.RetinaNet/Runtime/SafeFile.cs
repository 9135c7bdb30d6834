using System.Security.Cryptography;

namespace Microsoft.ML.RetinaNet.Runtime;

/// <summary>Length and SHA-256 of a written file, to tell a complete file from a truncated or damaged one.</summary>
internal sealed record FileDigest(string Name, long Length, string Sha256);

/// <summary>
/// Writes files so that a crash, a kill or a full disk at any instant leaves either the old file or the new one, never
/// a mixture: the bytes go to <c>name.tmp</c>, are flushed to the disk, and the temporary file is renamed over the
/// target (an atomic replace on one file system). A failed write removes the temporary file and says which file was
/// not written and that the previous one is unchanged.
/// </summary>
internal static class SafeFile
{
    /// <summary>Test hook: wraps the file stream, e.g. to simulate a disk that fills up. Flows with the async context only.</summary>
    internal static readonly AsyncLocal<Func<Stream, Stream>?> WrapStreamForTests = new();

    /// <summary>Deletes a temporary file if it can; a file in use or already gone is left to the system.</summary>
    public static void DeleteQuietly(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>; returns the file's length and SHA-256.</summary>
    public static FileDigest Write(string path, Action<Stream> write)
    {
        string temp = path + ".tmp";
        FileDigest digest;
        try
        {
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                var target = WrapStreamForTests.Value?.Invoke(file) ?? file;
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var hashing = new HashingStream(target, hash); // writers may dispose it; that closes nothing underneath
                write(hashing);
                target.Flush();
                digest = new FileDigest(Path.GetFileName(path), hashing.Length, Convert.ToHexString(hash.GetHashAndReset()));
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException || e.InnerException is IOException)
        {
            TryDelete(temp);
            bool full = IsDiskFull(e);
            throw new IOException($"Could not write '{path}': {(full ? "the disk is full" : e.Message)}. " +
                (File.Exists(path) ? "The previous file there is unchanged. " : "") +
                (full ? "Free some space or choose a folder on another disk, then run again." : "Check that the folder is writable, then run "
                    + "again."), e);
        }
        return digest;
    }

    /// <summary>Null when <paramref name="path"/> has the recorded length and SHA-256; otherwise what is wrong with it.</summary>
    public static string? Verify(string path, FileDigest expected)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
            return $"'{expected.Name}' is missing";
        if (info.Length != expected.Length)
            return $"'{expected.Name}' has {info.Length} bytes, {expected.Length} were written (truncated or overwritten)";
        using var stream = File.OpenRead(path);
        string actual = Convert.ToHexString(SHA256.HashData(stream));
        return string.Equals(actual, expected.Sha256,
            StringComparison.OrdinalIgnoreCase) ? null : $"'{expected.Name}' does not match its SHA-256 (the file is damaged)";
    }

    private static bool IsDiskFull(Exception e)
    {
        for (Exception? x = e; x != null; x = x.InnerException)
            if (x.HResult == 28 || x.HResult == unchecked((int)0x80070070) || x.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase))
                return true; // ENOSPC on Unix, ERROR_DISK_FULL on Windows
        return false;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // the temporary name is overwritten by the next attempt
        }
    }

    /// <summary>A write-only pass-through that counts and hashes what goes through it.</summary>
    private sealed class HashingStream : Stream
    {
        private readonly Stream _inner;
        private readonly IncrementalHash _hash;
        private long _length;

        public HashingStream(Stream inner, IncrementalHash hash) => (_inner, _hash) = (inner, hash);

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() => _inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _inner.Write(buffer);
            _hash.AppendData(buffer);
            _length += buffer.Length;
        }

        public override void WriteByte(byte value) => Write(new[] { value });
    }
}

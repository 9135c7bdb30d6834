// Build helper: lets TorchSharp's native library load on hosts with a libstdc++ older than GCC 13.
//
// libLibTorchSharp.so (TorchSharp 0.107.0) was linked against GCC 13's libstdc++ and so carries a
// version requirement on GLIBCXX_3.4.32, for one symbol only: std::ios_base_library_init(). GCC 13's
// <iostream> names that symbol (".globl") to pull iostream initialisation from the shared library; no
// relocation refers to it and nothing calls it. Older libstdc++ (GLIBCXX_3.4.30 on Debian 12 and
// Ubuntu 22.04) initialises iostreams itself, so the requirement can safely be made optional:
//   1. in .gnu.version_r, the GLIBCXX_3.4.32 entry gets VER_FLG_WEAK (a missing weak version is not an
//      error for the dynamic loader);
//   2. in .gnu.version, symbols tagged with that version become unversioned (VER_NDX_GLOBAL).
// The patch edits bytes in place (same size), is idempotent, and is applied only when the host's
// libstdc++ lacks GLIBCXX_3.4.32. It is compiled by MSBuild's RoslynCodeTaskFactory
// (eng/TorchSharpNativeFix.targets; in the package: buildTransitive) and, with ELF_PATCHER_ONLY defined, into the
// library, which applies the same patch at run time where no build step runs (Runtime/TorchNativeLibrary.cs).
#nullable enable
using System;
using System.Diagnostics;
using System.IO;
using System.Text;

namespace Microsoft.ML.RetinaNet.Build
{
    /// <summary>Marks one GNU version requirement of an ELF64 little-endian shared object as weak.</summary>
    internal static class ElfVersionPatcher
    {
        public const string RequiredVersion = "GLIBCXX_3.4.32";
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const uint ShtGnuVersym = 0x6fffffff;
        private const ushort VerFlagWeak = 0x2;
        private const ushort VerIndexGlobal = 1;

        /// <summary>True when the libstdc++ this host's loader would use already defines <paramref name="version"/>.</summary>
        public static bool HostLibStdCxxHas(string version, out string? libraryPath)
        {
            libraryPath = FindHostLibStdCxx();
            if (libraryPath == null)
                return false;
            return IndexOf(File.ReadAllBytes(libraryPath), Encoding.ASCII.GetBytes(version + "\0")) >= 0;
        }

        /// <summary>
        /// Makes the requirement on <paramref name="version"/> weak and unversions the symbols bound to it.
        /// Returns true if the bytes changed, false if there was nothing to do (already patched, or no such
        /// requirement). Throws <see cref="InvalidDataException"/> when the file is not an ELF64 LE object.
        /// </summary>
        public static bool Patch(byte[] elf, string version)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException("not an ELF file");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException("only 64-bit little-endian ELF files are supported");

            ulong shoff = U64(elf, 0x28);
            int shentsize = U16(elf, 0x3A);
            int shnum = U16(elf, 0x3C);

            int verneedIndex = -1, versymIndex = -1;
            for (int i = 0; i < shnum; i++)
            {
                uint type = U32(elf, checked((int)shoff + i * shentsize + 4));
                if (type == ShtGnuVerneed) verneedIndex = i;
                else if (type == ShtGnuVersym) versymIndex = i;
            }
            if (verneedIndex < 0)
                return false;

            var verneed = Section(elf, shoff, shentsize, verneedIndex);
            var strtab = Section(elf, shoff, shentsize, (int)verneed.Link);
            bool changed = false;
            ushort versionIndex = 0;

            // Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
            // Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
            int need = (int)verneed.Offset;
            for (int n = 0; n < (int)verneed.Info; n++)
            {
                int count = U16(elf, need + 2);
                int aux = need + (int)U32(elf, need + 8);
                for (int a = 0; a < count; a++)
                {
                    uint nameOffset = U32(elf, aux + 8);
                    if (ReadString(elf, (int)strtab.Offset + (int)nameOffset) == version)
                    {
                        ushort flags = U16(elf, aux + 4);
                        versionIndex = U16(elf, aux + 6);
                        if ((flags & VerFlagWeak) == 0)
                        {
                            W16(elf, aux + 4, (ushort)(flags | VerFlagWeak));
                            changed = true;
                        }
                    }
                    uint nextAux = U32(elf, aux + 12);
                    if (nextAux == 0) break;
                    aux += (int)nextAux;
                }
                uint next = U32(elf, need + 12);
                if (next == 0) break;
                need += (int)next;
            }

            if (versionIndex != 0 && versymIndex >= 0)
            {
                var versym = Section(elf, shoff, shentsize, versymIndex);
                for (ulong off = versym.Offset; off + 2 <= versym.Offset + versym.Size; off += 2)
                {
                    ushort v = U16(elf, (int)off);
                    if ((v & 0x7fff) == versionIndex)
                    {
                        W16(elf, (int)off, VerIndexGlobal);
                        changed = true;
                    }
                }
            }
            return changed;
        }

        /// <summary>Patches a file in place when needed; the new bytes replace the file through a rename.</summary>
        public static bool PatchFile(string path, string version)
        {
            byte[] bytes = File.ReadAllBytes(path);
            if (!Patch(bytes, version))
                return false;
            string temp = path + ".glibcxx-tmp";
            File.WriteAllBytes(temp, bytes);
            // Replace the file rather than write into it, so a hard link into a package cache is never written through.
            File.Delete(path);
            File.Move(temp, path);
            return true;
        }

        private readonly struct SectionHeader
        {
            public SectionHeader(ulong offset, ulong size, uint link, uint info)
            {
                Offset = offset; Size = size; Link = link; Info = info;
            }
            public ulong Offset { get; }
            public ulong Size { get; }
            public uint Link { get; }
            public uint Info { get; }
        }

        private static SectionHeader Section(byte[] elf, ulong shoff, int shentsize, int index)
        {
            int h = checked((int)shoff + index * shentsize);
            return new SectionHeader(U64(elf, h + 0x18), U64(elf, h + 0x20), U32(elf, h + 0x28), U32(elf, h + 0x2C));
        }

        private static ushort U16(byte[] b, int o) => (ushort)(b[o] | b[o + 1] << 8);
        private static uint U32(byte[] b, int o) => (uint)(U16(b, o) | U16(b, o + 2) << 16);
        private static ulong U64(byte[] b, int o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;
        private static void W16(byte[] b, int o, ushort v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); }

        private static string ReadString(byte[] elf, int offset)
        {
            int end = Array.IndexOf(elf, (byte)0, offset);
            return Encoding.ASCII.GetString(elf, offset, (end < 0 ? elf.Length : end) - offset);
        }

        private static int IndexOf(byte[] haystack, byte[] needle)
        {
            for (int i = Array.IndexOf(haystack, needle[0]);
                 i >= 0 && i <= haystack.Length - needle.Length;
                 i = Array.IndexOf(haystack, needle[0], i + 1))
            {
                int k = 1;
                while (k < needle.Length && haystack[i + k] == needle[k]) k++;
                if (k == needle.Length) return i;
            }
            return -1;
        }

        private static string? FindHostLibStdCxx()
        {
            try
            {
                var psi = new ProcessStartInfo(File.Exists("/sbin/ldconfig") ? "/sbin/ldconfig" : "ldconfig", "-p")
                {
                    RedirectStandardOutput = true,
                    UseShellExecute = false,
                };
                using var process = Process.Start(psi);
                if (process != null)
                {
                    string output = process.StandardOutput.ReadToEnd();
                    process.WaitForExit();
                    foreach (string line in output.Split('\n'))
                    {
                        // "	libstdc++.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libstdc++.so.6"
                        if (line.TrimStart().StartsWith("libstdc++.so.6 ", StringComparison.Ordinal) && line.Contains("x86-64"))
                        {
                            int arrow = line.IndexOf("=> ", StringComparison.Ordinal);
                            if (arrow > 0 && File.Exists(line.Substring(arrow + 3).Trim()))
                                return line.Substring(arrow + 3).Trim();
                        }
                    }
                }
            }
            catch (Exception)
            {
                // ldconfig missing: fall back to the usual places.
            }
            foreach (string candidate in new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
                "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6" })
                if (File.Exists(candidate))
                    return candidate;
            return null;
        }
    }

#if !ELF_PATCHER_ONLY
    /// <summary>MSBuild task: patches the given libLibTorchSharp.so copies when the host needs it.</summary>
    public sealed class LibStdCxxCompat : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        public override bool Execute()
        {
            if (ElfVersionPatcher.HostLibStdCxxHas(ElfVersionPatcher.RequiredVersion, out string? lib))
                return true; // the host's libstdc++ is new enough: nothing to do, nothing to say
            foreach (var item in Files)
            {
                string path = item.GetMetadata("FullPath");
                try
                {
                    if (ElfVersionPatcher.PatchFile(path, ElfVersionPatcher.RequiredVersion))
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal,
                            $"Made the {ElfVersionPatcher.RequiredVersion} requirement of {path} optional (host libstdc++: {lib ?? "not found"}).");
                }
                catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException)
                {
                    Log.LogError($"Could not patch {path} for the host's older libstdc++: {e.Message}");
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}

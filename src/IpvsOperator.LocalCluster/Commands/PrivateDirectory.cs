using System.Runtime.InteropServices;

namespace IpvsOperator.Commands;

/// <summary>
/// A directory only its owner can change, for files that hold credentials (local mode's
/// kubeconfig): created with mode 0700; an existing one is used only when it is a real directory
/// (not a link), owned by this user and writable by nobody else. Otherwise another local user could
/// have created it first and swap the kubeconfig for one that runs a program of theirs.
/// </summary>
internal static partial class PrivateDirectory
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Makes sure <paramref name="path"/> is a private directory; throws, saying why and what to do, when it cannot be one.</summary>
    public static void Ensure(string path)
    {
        var full = Path.GetFullPath(path);
        var parent = Path.GetDirectoryName(full);
        if (parent is not null)
        {
            Directory.CreateDirectory(parent);
        }
        if (!Path.Exists(full))
        {
            Directory.CreateDirectory(full, OwnerOnly);
        }
        var (isDirectory, owner, mode) = Inspect(full);
        var problem = !isDirectory ? "is not a directory (a link, or a file)"
            : owner != CurrentUser() ? $"belongs to user {owner}, not to this user ({CurrentUser()})"
            : (mode & 0b000_010_010) != 0 ? $"can be written by other users (mode {Convert.ToString(mode & 0b111_111_111, 8)})"
            : null;
        if (problem is not null)
        {
            throw new InvalidOperationException(
                $"the state directory {full} {problem}: another user could replace the kubeconfig in it. " +
                "Remove it, or give --state-dir a directory of your own that nobody else can write to.");
        }
    }

    /// <summary>The directory's type, owner and mode, without following a link.</summary>
    private static (bool IsDirectory, uint Owner, uint Mode) Inspect(string path)
    {
        Span<byte> buffer = stackalloc byte[256]; // struct statx: the same layout on every architecture
        if (Statx(AtCurrentDirectory, path, AtSymlinkNoFollow, StatxTypeModeUid, buffer) != 0)
        {
            throw new InvalidOperationException($"cannot inspect {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
        var owner = BitConverter.ToUInt32(buffer[20..24]);
        var mode = BitConverter.ToUInt16(buffer[28..30]);
        return ((mode & FileTypeMask) == DirectoryType, owner, mode);
    }

    private static uint CurrentUser() => GetEffectiveUserId();

    private const int AtCurrentDirectory = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxTypeModeUid = 0x1 | 0x2 | 0x8;
    private const uint FileTypeMask = 0xF000;
    private const uint DirectoryType = 0x4000;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directory, string path, int flags, uint mask, Span<byte> result);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();
}

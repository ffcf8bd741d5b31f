using System.Security.Cryptography;

namespace Custodian.Protection.Keys;

/// <summary>
/// Random AES-GCM nonces from the system CSPRNG, drawn from a per-thread 4 KiB buffer so that one
/// field encryption does not cost one RNG call. Nonces are public values; the buffer holds nothing
/// secret. Each byte is handed out once.
/// </summary>
internal static class NonceSource
{
    private const int BufferSize = 4096;

    [ThreadStatic]
    private static byte[]? t_buffer;

    [ThreadStatic]
    private static int t_position;

    /// <summary>Fills <paramref name="destination"/> (at most 4 KiB) with fresh random bytes.</summary>
    public static void Fill(Span<byte> destination)
    {
        var buffer = t_buffer;
        if (buffer is null || t_position + destination.Length > BufferSize)
        {
            buffer ??= t_buffer = new byte[BufferSize];
            RandomNumberGenerator.Fill(buffer);
            t_position = 0;
        }

        buffer.AsSpan(t_position, destination.Length).CopyTo(destination);
        t_position += destination.Length;
    }
}

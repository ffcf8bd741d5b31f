using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Custodian.Ledger;

/// <summary>
/// SHA-256 (FIPS 180-4) through OpenSSL's low-level <c>SHA256_Init</c> / <c>SHA256_Update</c> /
/// <c>SHA256_Final</c> in the <c>libcrypto.so.3</c> that .NET itself uses on Linux, called directly with
/// a context on the stack. The same code computes the hash as <see cref="SHA256.HashData(ReadOnlySpan{byte}, Span{byte})"/>
/// (OpenSSL's SHA-NI / AVX2 block function), without what each <c>HashData</c> call costs on top on
/// Linux: an EVP context allocated and freed and OpenSSL's thread error queue cleared before and after
/// (<c>ERR_clear_error</c>, <c>CRYPTO_free</c>), measured at more than half of the CPU of a leaf hash
/// of ~250 bytes in the ledger verifier (bench/README.md, "Ledger verification, 2026-12-01").
/// Only used for the Merkle tree's hashes of public data (no keys, nothing secret), where the EVP
/// provider machinery (FIPS provider selection) buys nothing.
/// <see cref="Instance"/> is null when the library or its functions are not there (Windows, macOS,
/// OpenSSL 4) or when its answers for the FIPS 180-4 examples and a few other inputs differ from
/// <see cref="SHA256.HashData(ReadOnlySpan{byte}, Span{byte})"/>; callers then use that. Thread-safe.
/// </summary>
internal sealed unsafe class Sha256Direct
{
    // OpenSSL's SHA256_CTX is 112 bytes (h[8], Nl, Nh, data[16], num, md_len: 28 32-bit words); twice that for any padding.
    private const int ContextSize = 256;

    private static readonly Sha256Direct? Shared = Create();

    private readonly delegate* unmanaged[SuppressGCTransition]<byte*, int> _init;
    private readonly delegate* unmanaged[SuppressGCTransition]<byte*, byte*, nuint, int> _update;
    private readonly delegate* unmanaged[SuppressGCTransition]<byte*, byte*, int> _final;

    private Sha256Direct(IntPtr library)
    {
        _init = (delegate* unmanaged[SuppressGCTransition]<byte*, int>)NativeLibrary.GetExport(library, "SHA256_Init");
        _update = (delegate* unmanaged[SuppressGCTransition]<byte*, byte*, nuint, int>)NativeLibrary.GetExport(library, "SHA256_Update");
        _final = (delegate* unmanaged[SuppressGCTransition]<byte*, byte*, int>)NativeLibrary.GetExport(library, "SHA256_Final");
    }

    /// <summary>The direct hasher, or null when it is not available (then use <see cref="SHA256"/>).</summary>
    public static Sha256Direct? Instance => Shared;

    /// <summary>
    /// Writes <c>SHA-256(prefix ‖ a ‖ b)</c> into the first 32 bytes of <paramref name="destination"/>,
    /// which may overlap the inputs (the hash is written after all input is read).
    /// </summary>
    /// <exception cref="CryptographicException">When OpenSSL reports a failure (it does not for these functions).</exception>
    [SkipLocalsInit]
    public void Hash(byte prefix, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> destination)
    {
        var context = stackalloc byte[ContextSize];
        byte* digest = stackalloc byte[MerkleTree.HashSize];
        var ok = _init(context);
        ok &= _update(context, &prefix, 1);
        fixed (byte* pa = a)
        fixed (byte* pb = b)
        {
            ok &= _update(context, pa, (nuint)a.Length);
            ok &= _update(context, pb, (nuint)b.Length);
        }

        ok &= _final(digest, context);
        if (ok != 1)
        {
            throw new CryptographicException("OpenSSL SHA-256 failed.");
        }

        new ReadOnlySpan<byte>(digest, MerkleTree.HashSize).CopyTo(destination);
    }

    private static Sha256Direct? Create()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            if (!NativeLibrary.TryLoad("libcrypto.so.3", out var library))
            {
                return null;
            }

            var direct = new Sha256Direct(library);
            return direct.AgreesWithDotNet() ? direct : null;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException or BadImageFormatException or CryptographicException)
        {
            return null;
        }
    }

    // Inputs of every length 1–301 (one, two and more blocks, split over the three parts) must hash as
    // SHA256.HashData does, and the FIPS 180-4 example "abc" must give its published digest.
    private bool AgreesWithDotNet()
    {
        Span<byte> expected = stackalloc byte[MerkleTree.HashSize];
        Span<byte> actual = stackalloc byte[MerkleTree.HashSize];
        var input = new byte[301];
        for (var i = 0; i < input.Length; i++)
        {
            input[i] = (byte)((i * 131) + 7);
        }

        for (var length = 0; length < input.Length; length++)
        {
            var split = length / 3;
            Hash(input[0], input.AsSpan(1, split), input.AsSpan(1 + split, length - split), actual);
            SHA256.HashData(input.AsSpan(0, 1 + length), expected);
            if (!actual.SequenceEqual(expected))
            {
                return false;
            }
        }

        Hash((byte)'a', "bc"u8, [], actual);
        return Convert.ToHexStringLower(actual) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    }
}

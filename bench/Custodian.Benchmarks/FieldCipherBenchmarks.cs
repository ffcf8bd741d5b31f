using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Custodian.Identity;
using Custodian.Protection.Keys;

namespace Custodian.Benchmarks;

/// <summary>
/// One personal field encrypted and decrypted: <see cref="FieldCipher"/> (header, pooled AesGcm, buffered
/// nonces, associated data bound to subscriber and field, key lookup) against raw <see cref="AesGcm"/>
/// on the same payload with the same associated-data length. Ratio = FieldCipher time / raw time.
/// </summary>
[MemoryDiagnoser]
public class FieldCipherBenchmarks
{
    private readonly SubscriberId _id = SubscriberId.From(0x1234_5678_9ABC);
    private string _directory = "";
    private FieldCipher _cipher = null!;
    private AesGcm _raw = null!;
    private byte[] _payload = [];
    private byte[] _nonce = new byte[12];
    private byte[] _aad = new byte[5 + 8 + 3];
    private byte[] _ciphertext = [];
    private byte[] _tag = new byte[16];
    private byte[] _plaintext = [];
    private long _counter;

    /// <summary>Payload length in bytes: 13 = an RRN, 40 = a typical UTF-8 address.</summary>
    [Params(13, 40)]
    public int PayloadBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "custodian-bench-" + Guid.NewGuid().ToString("N"));
        var keys = ProtectionKeyring.LoadOrCreate(_directory, TimeProvider.System, RandomNumberGenerator.GetBytes(32));
        _cipher = new FieldCipher(keys);
        _raw = new AesGcm(RandomNumberGenerator.GetBytes(32), 16);
        _payload = RandomNumberGenerator.GetBytes(PayloadBytes);
        _ciphertext = new byte[PayloadBytes];
        _plaintext = new byte[PayloadBytes];
        RandomNumberGenerator.Fill(_aad);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _raw.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>The cheapest correct use of AesGcm: a counter nonce (no RNG call), no allocation. The conservative baseline.</summary>
    [Benchmark(Baseline = true, Description = "raw AesGcm encrypt+decrypt (counter nonce)")]
    public byte[] RawAesGcm()
    {
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(_nonce, ++_counter);
        _raw.Encrypt(_nonce, _payload, _ciphertext, _tag, _aad);
        _raw.Decrypt(_nonce, _ciphertext, _tag, _plaintext, _aad);
        return _plaintext;
    }

    /// <summary>Raw AesGcm with a random nonce drawn per call, as a naive caller would.</summary>
    [Benchmark(Description = "raw AesGcm encrypt+decrypt (RNG nonce per call)")]
    public byte[] RawAesGcmRandomNonce()
    {
        RandomNumberGenerator.Fill(_nonce);
        _raw.Encrypt(_nonce, _payload, _ciphertext, _tag, _aad);
        _raw.Decrypt(_nonce, _ciphertext, _tag, _plaintext, _aad);
        return _plaintext;
    }

    [Benchmark(Description = "FieldCipher encrypt+decrypt")]
    public byte[] FieldCipherRoundTrip() => _cipher.Decrypt(_id, "rrn", _cipher.Encrypt(_id, "rrn", _payload));
}

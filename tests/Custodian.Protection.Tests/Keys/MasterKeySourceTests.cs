using Custodian.Protection.Keys;
using Custodian.Protection.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Protection.Tests.Keys;

/// <summary>
/// The environment-variable / master.key resolution. Every test that calls the two-argument
/// LoadOrCreate lives in this one class, so they run one at a time and the process-wide
/// environment variable never leaks into a parallel test.
/// </summary>
public sealed class MasterKeySourceTests : IDisposable
{
    private readonly string? _saved = Environment.GetEnvironmentVariable(ProtectionKeyring.MasterKeyEnvironmentVariable);

    public MasterKeySourceTests() => Environment.SetEnvironmentVariable(ProtectionKeyring.MasterKeyEnvironmentVariable, null);

    public void Dispose() => Environment.SetEnvironmentVariable(ProtectionKeyring.MasterKeyEnvironmentVariable, _saved);

    [Fact]
    public void Without_the_environment_variable_a_0600_master_key_file_is_created_and_reused()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(TestEnvironment.Start);

        var first = ProtectionKeyring.LoadOrCreate(dir.Path, time);
        var masterPath = Path.Combine(dir.Path, ProtectionKeyring.MasterKeyFileName);
        var master = File.ReadAllText(masterPath);
        var second = ProtectionKeyring.LoadOrCreate(dir.Path, time);

        Assert.Equal(32, Convert.FromBase64String(master.Trim()).Length);
        Assert.EndsWith("\n", master);
        Assert.Equal(master, File.ReadAllText(masterPath));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(masterPath));
        }

        Assert.Equal(new BlindIndex(first).ForRrn("0001013123456"), new BlindIndex(second).ForRrn("0001013123456"));

        // The file's secret is the master key: the explicit overload with the same bytes opens the keyring.
        var explicitly = ProtectionKeyring.LoadOrCreate(dir.Path, time, Convert.FromBase64String(master.Trim()));
        Assert.Equal(new BlindIndex(first).ForRrn("0001013123456"), new BlindIndex(explicitly).ForRrn("0001013123456"));
    }

    [Fact]
    public void The_environment_variable_takes_precedence_and_creates_no_file()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(TestEnvironment.Start);
        Environment.SetEnvironmentVariable(ProtectionKeyring.MasterKeyEnvironmentVariable, Convert.ToBase64String(TestEnvironment.MasterKey));

        var fromEnvironment = ProtectionKeyring.LoadOrCreate(dir.Path, time);

        Assert.False(File.Exists(Path.Combine(dir.Path, ProtectionKeyring.MasterKeyFileName)));
        var explicitly = ProtectionKeyring.LoadOrCreate(dir.Path, time, TestEnvironment.MasterKey);
        Assert.Equal(new BlindIndex(fromEnvironment).ForPhone("+821012345678"), new BlindIndex(explicitly).ForPhone("+821012345678"));
    }

    [Fact]
    public void A_wrong_environment_secret_cannot_open_an_existing_keyring()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(TestEnvironment.Start);
        ProtectionKeyring.LoadOrCreate(dir.Path, time, TestEnvironment.MasterKey);
        Environment.SetEnvironmentVariable(ProtectionKeyring.MasterKeyEnvironmentVariable, Convert.ToBase64String(new byte[32]));

        var ex = Assert.Throws<InvalidOperationException>(() => ProtectionKeyring.LoadOrCreate(dir.Path, time));

        Assert.Contains("cannot be unwrapped with the configured master key", ex.Message);
    }

    [Theory]
    [InlineData("not base64 at all!")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAA==")] // 16 bytes
    public void A_malformed_environment_secret_is_refused_without_echoing_it(string value)
    {
        using var dir = new TempDirectory();
        Environment.SetEnvironmentVariable(ProtectionKeyring.MasterKeyEnvironmentVariable, value);

        var ex = Assert.Throws<InvalidOperationException>(() => ProtectionKeyring.LoadOrCreate(dir.Path, TimeProvider.System));

        Assert.Equal("The environment variable CUSTODIAN_MASTER_KEY must be base64 of exactly 32 bytes.", ex.Message);
        Assert.False(File.Exists(Path.Combine(dir.Path, ProtectionKeyring.KeyringFileName)));
    }

    [Fact]
    public void An_existing_keyring_without_any_master_key_is_an_error_not_a_new_master_key()
    {
        using var dir = new TempDirectory();
        ProtectionKeyring.LoadOrCreate(dir.Path, TimeProvider.System, TestEnvironment.MasterKey);

        var ex = Assert.Throws<InvalidOperationException>(() => ProtectionKeyring.LoadOrCreate(dir.Path, TimeProvider.System));

        Assert.Equal(
            $"The keyring in '{Path.GetFullPath(dir.Path)}' exists but no master key was found: set CUSTODIAN_MASTER_KEY or restore master.key.",
            ex.Message);
        Assert.False(File.Exists(Path.Combine(dir.Path, ProtectionKeyring.MasterKeyFileName)));
    }
}

using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Net.Sockets;
using Custodian.Hosting;
using Microsoft.Extensions.Options;

namespace Custodian.Cli;

/// <summary>
/// What <c>custodian serve</c> checks before it creates anything (README.md, "Configuration"): every bound settings
/// section is bound and validated the way the server will, and both listen endpoints are bound once and released. A
/// bad value or a port in use stops the start with one line and exit code 2 before the data directory is initialised
/// and before the first security officer's one-time password is printed, instead of after.
/// </summary>
internal static partial class ServeStartChecks
{
    /// <summary>
    /// The settings checks of <c>custodian serve</c>, also run by <c>custodian init</c>: <paramref name="options"/> (bound from
    /// the <c>Custodian</c> section and the command's options) by <see cref="CustodianOptionsValidator.ValidateAll"/>, then
    /// <c>Custodian:Detection</c>, then the settings a data directory's <c>appsettings.json</c> may not hold or that the
    /// embedded event log does not read (<see cref="CustodianServer.RefuseSettingsNotRead"/>; before the values are
    /// checked, so such a setting is named as such), then every bound section of the server's settings
    /// (<see cref="CheckConfiguration"/>, the file's values too). The listen ports are not checked here
    /// (<see cref="CheckListenEndpoints"/>).
    /// </summary>
    /// <param name="options">The options the server would run with.</param>
    /// <param name="environment">The configuration root (environment variables).</param>
    /// <exception cref="CliException">The first refusal, in one line (exit 2); values are never echoed.</exception>
    public static void CheckSettings(CustodianOptions options, IConfiguration environment)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(environment);
        var failures = CustodianOptionsValidator.ValidateAll(options);
        if (failures.Count > 0)
        {
            throw new CliException("invalid configuration: " + string.Join(" ", failures));
        }

        _ = Monitoring.DetectionSettings.Bind(environment); // Custodian__Detection__*
        IConfiguration settings;
        try
        {
            CustodianServer.RefuseSettingsNotRead(options, environment);
            settings = CustodianServer.ServerSettings(options, environment);
        }
        catch (InvalidOperationException ex)
        {
            throw new CliException(ex.Message);
        }

        CheckConfiguration(settings); // Retention, Review, Gateway, Siem, Checkpoints...
    }

    /// <summary>
    /// Refuses unknown keys under <c>Custodian</c> (<see cref="ConfigurationKeys"/>), then binds and validates the sections <c>Custodian:Retention</c>, <c>Custodian:Review</c>, <c>Custodian:Gateway</c>,
    /// <c>Custodian:OfficerDevices</c>, <c>Custodian:DormantAccounts</c>, <c>Custodian:Siem</c> and
    /// <c>Custodian:Checkpoints</c> (<c>Custodian:Detection</c> is checked by <c>Monitoring.DetectionSettings</c>).
    /// </summary>
    /// <param name="configuration">The configuration root (environment variables).</param>
    /// <exception cref="CliException">The first section with a value that cannot be converted or breaks its rule, named with the rule (exit 2); values are never echoed.</exception>
    public static void CheckConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        RefuseUnknownKeys(configuration);
        var custodian = configuration.GetSection(CustodianOptions.Section);

        var retention = new Ledger.Retention.RetentionOptions();
        ConfigurationBinding.Bind(configuration.GetSection(Ledger.Retention.RetentionOptions.Section), retention);
        Checked(retention.Validate, Ledger.Retention.RetentionOptions.Section); // with docs/review.md and the variable

        var review = new Review.ReviewOptions();
        ConfigurationBinding.Bind(configuration.GetSection(Review.ReviewOptions.Section), review);
        Checked(review.Validate, Review.ReviewOptions.Section); // with docs/review.md and the variable

        var gateway = new Gateway.GatewayOptions();
        ConfigurationBinding.Bind(custodian.GetSection(Gateway.GatewayOptions.Section), gateway);
        RefuseNamingSetting(new Gateway.GatewayOptionsValidator().Validate(null, gateway), $"{CustodianOptions.Section}:{Gateway.GatewayOptions.Section}");
        if (new Gateway.GatewayNetworkValidator().Validate(null, gateway) is { Failed: true } network)
        {
            // "Gateway:TrustedProxies: '…' is not an IP address.": the setting is what precedes ": ", below the Custodian section
            var failure = $"{CustodianOptions.Section}:{network.Failures.First()}";
            throw new CliException("invalid configuration: " + ConfigurationBinding.WithDocumentPointer(failure, failure.Split(": ", 2)[0]));
        }

        var officerDevices = new Approvals.OfficerDeviceOptions();
        ConfigurationBinding.Bind(custodian.GetSection(Approvals.OfficerDeviceOptions.Section), officerDevices);
        // The pointer names the first bad entry's variable (Custodian__OfficerDevices__Stores__<index>).
        var badStore = officerDevices.Stores.Select((store, index) => (store, index)).FirstOrDefault(e => !Identity.Codes.IsValid(e.store)).index;
        Refuse(new Approvals.OfficerDeviceOptionsValidator().Validate(null, officerDevices), $"{CustodianOptions.Section}:{Approvals.OfficerDeviceOptions.Section}:Stores:{badStore}");

        var dormant = new StaffLifecycle.DormantAccountOptions();
        ConfigurationBinding.Bind(custodian.GetSection(StaffLifecycle.DormantAccountOptions.Section), dormant);
        RefuseNamingSetting(new StaffLifecycle.DormantAccountOptionsValidator().Validate(null, dormant), $"{CustodianOptions.Section}:{StaffLifecycle.DormantAccountOptions.Section}");

        var siem = new Siem.Export.SiemExportOptions();
        ConfigurationBinding.Bind(custodian.GetSection(Siem.Export.SiemExportOptions.Section), siem);
        if (SiemRefusal(siem) is { } siemRefusal)
        {
            throw new CliException(siemRefusal); // the words the server uses (CustodianServer)
        }

        var checkpoints = new Ledger.Checkpoints.CheckpointOptions();
        ConfigurationBinding.Bind(configuration.GetSection(Ledger.Checkpoints.CheckpointOptions.Section), checkpoints);
        var checkpointFailures = new List<ValidationResult>();
        var checkpointRule = !Validator.TryValidateObject(checkpoints, new ValidationContext(checkpoints), checkpointFailures, validateAllProperties: true)
            ? checkpointFailures[0].MemberNames.FirstOrDefault() switch
            {
                nameof(Ledger.Checkpoints.CheckpointOptions.IntervalSeconds) => ("IntervalSeconds", "must be 1-3600"), // the [Range] attributes
                nameof(Ledger.Checkpoints.CheckpointOptions.MaxFutureSkewSeconds) => ("MaxFutureSkewSeconds", "must be 0-86400"),
                var other => (other ?? "IntervalSeconds", "has a value that is not allowed"),
            }
            : !Ledger.Checkpoints.NoteKeyIds.IsValidName(checkpoints.EffectiveOrigin()) ? ("Origin", "must be a name without spaces or '+'")
            : ((string Setting, string Rule)?)null;
        if (checkpointRule is { } broken)
        {
            var setting = $"{Ledger.Checkpoints.CheckpointOptions.Section}:{broken.Setting}";
            throw new CliException("invalid configuration: " + ConfigurationBinding.WithDocumentPointer($"{setting} {broken.Rule}", setting));
        }
    }

    /// <summary>
    /// The one-line refusal of SIEM export settings that break a rule, used by this check and by the server's start
    /// (<c>CustodianServer</c>): every broken rule, each followed by where the setting is documented (docs/siem.md) and its
    /// environment variable, e.g. <c>invalid SIEM export configuration: Custodian:Siem:BatchSize must be between 1 and 10000
    /// (docs/siem.md lists the values; as an environment variable it is Custodian__Siem__BatchSize).</c> Values are never echoed.
    /// </summary>
    /// <param name="siem">The bound settings.</param>
    /// <returns>The refusal, or <see langword="null"/> when the settings are valid.</returns>
    internal static string? SiemRefusal(Siem.Export.SiemExportOptions siem) =>
        Siem.Export.SiemExportOptionsValidator.Failures(siem) is { Count: > 0 } failures
            ? "invalid SIEM export configuration: " + string.Join(" ", failures.Select(f => ConfigurationBinding.WithDocumentPointer(f.Message, f.Setting)))
            : null;

    /// <summary>
    /// Binds a TCP socket to each listen endpoint (<see cref="CustodianOptions.ListenAddress"/> with
    /// <see cref="CustodianOptions.TerminalPort"/> and <see cref="CustodianOptions.PortalPort"/>; port 0, any free
    /// port, is not checked) and releases it at once. Another process can still take a port between this check and
    /// the server's start; that case keeps its own message.
    /// </summary>
    /// <param name="options">The validated options.</param>
    /// <exception cref="CliException">A port is in use or the address is not this machine's (exit 2).</exception>
    public static void CheckListenEndpoints(CustodianOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var (port, name) in new[] { (options.TerminalPort, "terminal API (--terminal-port)"), (options.PortalPort, "portal (--portal-port)") })
        {
            if (port == 0)
            {
                continue;
            }

            var endpoint = new IPEndPoint(options.ListenIp, port);
            using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true); // as Kestrel does: a port with connections in TIME_WAIT is free
                socket.Bind(endpoint);
                socket.Listen(1);
            }
            catch (SocketException ex)
            {
                throw new CliException(ex.SocketErrorCode == SocketError.AddressAlreadyInUse
                    ? $"cannot listen on {endpoint} for the {name}: the port is already in use."
                    : $"cannot listen on {endpoint} for the {name}: {ex.Message}");
            }
        }
    }

    /// <summary>Refuses a key under <c>Custodian</c> that no setting matches (a misspelt name would otherwise be ignored and its default kept).</summary>
    /// <param name="configuration">The configuration root.</param>
    /// <exception cref="CliException">The first unknown key, with the nearest valid one (exit 2).</exception>
    public static void RefuseUnknownKeys(IConfiguration configuration)
    {
        if (ConfigurationKeys.FindUnknown(configuration) is { } unknown)
        {
            throw new CliException("invalid configuration: " + unknown);
        }
    }

    // section: when given, the refusal ends with where the setting (section:ParamName) is documented and its variable
    private static void Checked(Action validate, string? section = null) => ConfigurationBinding.Checked(validate, section);

    // setting: when given, the refusal ends with where it is documented and its variable
    private static void Refuse(ValidateOptionsResult result, string? setting = null)
    {
        if (result.Failed)
        {
            var failure = result.Failures.First();
            throw new CliException("invalid configuration: " + (setting is null ? failure : ConfigurationBinding.WithDocumentPointer(failure, setting)));
        }
    }

    // A generated validator's failure ("Days: The field DormantAccountOptions.Days must be between 1 and 3650.") names a .NET
    // type: the refusal names the setting (section:Days) instead, with where it is documented and its variable.
    private static void RefuseNamingSetting(ValidateOptionsResult result, string section)
    {
        if (result.Failed)
        {
            var (member, rule) = GeneratedFailure().Match(result.Failures.First()) is { Success: true } m
                ? (m.Groups[1].Value, m.Groups[2].Value)
                : (null, result.Failures.First());
            var setting = section + (member is null ? string.Empty : ":" + member);
            throw new CliException("invalid configuration: " + ConfigurationBinding.WithDocumentPointer($"{setting} {rule}", setting));
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(\w+): The field \w+\.\w+ (.*?)\.?$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex GeneratedFailure();

    /// <summary>
    /// Refuses to start when a key file of the data directory that exists is accessible by group or others
    /// (<c>mode &amp; 0o077 != 0</c>, as OpenSSH refuses such a private key): the master key (<c>keys/master.key</c>), the
    /// TOTP-seed key (<c>access/secrets.key</c>), the checkpoint signing key (<c>checkpoints/log.key</c>) and the device CA
    /// keys (<c>ca/ca.key</c>, during a rotation <c>ca/previous/ca.key</c>). Custodian creates each of them 0600; a looser
    /// mode means someone copied or restored them by hand, and another account on the host may have read them. Nothing
    /// is checked on Windows.
    /// </summary>
    /// <param name="paths">The data directory.</param>
    /// <exception cref="CliException">The first such file, with its mode and the <c>chmod 600</c> fix (exit 2).</exception>
    public static void CheckKeyFiles(DataPaths paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var ca = paths.CertificateAuthority;
        var keyFiles = new (string Path, string What)[]
        {
            (Path.Combine(paths.Keys, Protection.Keys.ProtectionKeyring.MasterKeyFileName), "the master key"),
            (paths.AccessSecretsKey, "the TOTP-seed key"),
            (Ledger.Checkpoints.LogKeyFile.PathFor(paths.Root), "the checkpoint signing key"),
            (Path.Combine(ca, Access.Certificates.CertificateAuthority.KeyFileName), "the device CA key"),
            (Path.Combine(ca, Access.Certificates.CertificateAuthority.PreviousDirectoryName, Access.Certificates.CertificateAuthority.KeyFileName), "the previous device CA key"),
        };
        foreach (var (path, what) in keyFiles)
        {
            if (Files.KeyFilePermissions.Refusal(path, what) is { } refusal)
            {
                throw new CliException(refusal);
            }
        }
    }
}

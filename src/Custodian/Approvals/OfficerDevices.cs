using Custodian.Access.Certificates;
using Custodian.Identity;
using Custodian.Problems;
using Custodian.StaffLifecycle;
using Microsoft.Extensions.Options;

namespace Custodian.Approvals;

/// <summary>
/// Where security and privacy officers may sign in (section <c>Custodian:OfficerDevices</c>, e.g. env
/// <c>Custodian__OfficerDevices__Stores__0=HQ</c>): only at terminals enrolled under one of <see cref="Stores"/> — the
/// security office's own desks or VDI hosts — so that an officer's session (which the approvals and the alert console
/// need) never runs on a shop counter's device. Validated at start.
/// </summary>
public sealed class OfficerDeviceOptions
{
    /// <summary>Configuration section under <c>Custodian</c>.</summary>
    public const string Section = "OfficerDevices";

    /// <summary>Store codes whose terminals are officers' devices (e.g. <c>HQ</c>, <c>VDI</c>).</summary>
    /// <value>The default is empty: officers may sign in at any enrolled terminal (device certificate + password + TOTP still apply). Set it in production.</value>
    public IList<string> Stores { get; } = [];
}

/// <summary>Checks <see cref="OfficerDeviceOptions"/>: every entry a store code.</summary>
public sealed class OfficerDeviceOptionsValidator : IValidateOptions<OfficerDeviceOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, OfficerDeviceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Stores.All(Codes.IsValid)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Custodian:OfficerDevices:Stores: every entry must be a store code of " + Codes.Rule + ".");
    }
}

/// <summary>The officer-device rule applied at sign-in (<c>Gateway/StaffSignIn</c>).</summary>
public static class OfficerDevices
{
    /// <summary>Error code: an officer tried to sign in at a terminal that is not an officer's device (403).</summary>
    public const string TerminalRequired = "officer-terminal-required";

    /// <summary>Null when <paramref name="role"/> may sign in at <paramref name="device"/>; else the refusal.</summary>
    /// <param name="role">The authenticated staff member's role.</param>
    /// <param name="device">The terminal of the sign-in.</param>
    /// <param name="options">The settings, or null (no restriction).</param>
    /// <returns>The refusal for an officer at a terminal outside <see cref="OfficerDeviceOptions.Stores"/>, when that list is set.</returns>
    public static CustodianError? Check(StaffRole role, DeviceIdentity device, OfficerDeviceOptions? options)
    {
        ArgumentNullException.ThrowIfNull(device);
        return role.IsStoreStaff() || options is null || options.Stores.Count == 0 || options.Stores.Contains(device.Store, StringComparer.Ordinal)
            ? null
            : new CustodianError(TerminalRequired, 403, "Security and privacy officers may sign in only at an officer's own device (a terminal of the stores in Custodian:OfficerDevices:Stores).");
    }
}

/// <summary>Registers the four-eyes area's server settings and jobs.</summary>
public static class FourEyesHostingExtensions
{
    /// <summary>
    /// Binds and validates at start <see cref="OfficerDeviceOptions"/> (<c>Custodian:OfficerDevices</c>) and
    /// <see cref="DormantAccountOptions"/> (<c>Custodian:DormantAccounts</c>), and adds the daily
    /// <see cref="DormantAccountService"/>.
    /// </summary>
    /// <param name="services">The collection.</param>
    /// <param name="configuration">The application's configuration.</param>
    /// <returns>The same collection.</returns>
    public static IServiceCollection AddFourEyesHosting(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<OfficerDeviceOptions>()
            .Bind(configuration.GetSection(Hosting.CustodianOptions.Section).GetSection(OfficerDeviceOptions.Section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<OfficerDeviceOptions>, OfficerDeviceOptionsValidator>();
        return services.AddDormantAccountService(configuration);
    }
}

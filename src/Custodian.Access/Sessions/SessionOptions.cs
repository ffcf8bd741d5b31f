using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Custodian.Access.Sessions;

/// <summary>Settings of <see cref="SessionStore"/>. Validated when the store is constructed.</summary>
public sealed class SessionOptions
{
    /// <summary>A session unused this long is closed (PIPA safety standard: cut idle sessions).</summary>
    /// <value>The default is 15 minutes; allowed 1 minute to 8 hours.</value>
    [Range(typeof(TimeSpan), "00:01:00", "08:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>A session is closed this long after sign-in, however active (one working day).</summary>
    /// <value>The default is 12 hours; allowed 1 minute to 24 hours.</value>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan AbsoluteLifetime { get; set; } = TimeSpan.FromHours(12);

    /// <summary>Subscriber handles a session keeps; adding one more forgets the least recently added.</summary>
    /// <value>The default is 200; allowed 1 to 10,000.</value>
    [Range(1, 10_000)]
    public int MaxHandlesPerSession { get; set; } = 200;
}

/// <summary>Source-generated validator of the data annotations on <see cref="SessionOptions"/>.</summary>
[OptionsValidator]
public sealed partial class SessionOptionsValidator : IValidateOptions<SessionOptions>
{
}

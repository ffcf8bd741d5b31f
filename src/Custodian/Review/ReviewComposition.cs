using Custodian.Ledger;
using Custodian.Ledger.Retention;
using Custodian.Protection.Keys;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Custodian.Review;

/// <summary>Registers ledger retention and the access-log review.</summary>
public static class ReviewComposition
{
    /// <summary>
    /// Adds <see cref="RetentionOptions"/> and <see cref="ReviewOptions"/> (bound from the environment:
    /// <c>Custodian__Retention__Years</c>, <c>Custodian__Review__Cycle</c>, …), <see cref="LedgerRetention"/>,
    /// <see cref="LedgerReview"/> and the <see cref="Tokenizer"/> (unless already registered). A value out of range
    /// throws <see cref="Cli.CliException"/> when the service is first resolved (<c>invalid configuration: Custodian:Retention:Years
    /// must be 2-100 (…; docs/review.md lists the values; as an environment variable it is Custodian__Retention__Years).</c>,
    /// as <c>serve</c>'s start checks say it); a value that cannot be converted (e.g. <c>Custodian__Review__Cycle=daily</c>) throws
    /// <see cref="Cli.CliException"/> naming the setting.
    /// </summary>
    /// <param name="services">The collection.</param>
    /// <returns>The same collection.</returns>
    public static IServiceCollection AddCustodianReview(this IServiceCollection services)
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        services.AddSingleton(_ => Bind<RetentionOptions>(configuration, RetentionOptions.Section, o => o.Validate()));
        services.AddSingleton(_ => Bind<ReviewOptions>(configuration, ReviewOptions.Section, o => o.Validate()));
        services.TryAddSingleton<Tokenizer>();
        services.AddSingleton<LedgerRetention>();
        services.AddSingleton<LedgerReview>();
        return services;
    }

    private static T Bind<T>(IConfiguration configuration, string section, Action<T> validate)
        where T : new()
    {
        var options = new T();
        Cli.ConfigurationBinding.Bind(configuration.GetSection(section), options); // a value that does not convert: one line naming the setting
        // A value out of range: the line serve's start checks give (invalid configuration: …, docs/review.md, the variable),
        // for the verbs that resolve these options without those checks (ledger retention, review).
        Cli.ConfigurationBinding.Checked(() => validate(options), section);
        return options;
    }
}

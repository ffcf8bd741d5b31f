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
    /// <see cref="LedgerReview"/> and the <see cref="Tokenizer"/> (unless already registered). A bad setting
    /// throws <see cref="ArgumentOutOfRangeException"/> when the service is first resolved (the server resolves
    /// the retention job at start); a value that cannot be converted (e.g. <c>Custodian__Review__Cycle=daily</c>) throws
    /// <see cref="Cli.CliException"/> naming the setting.
    /// </summary>
    /// <param name="services">The collection.</param>
    /// <returns>The same collection.</returns>
    public static IServiceCollection AddCustodianReview(this IServiceCollection services)
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        services.AddSingleton(_ => Bind<RetentionOptions>(configuration, RetentionOptions.Section));
        services.AddSingleton(_ => Bind<ReviewOptions>(configuration, ReviewOptions.Section));
        services.TryAddSingleton<Tokenizer>();
        services.AddSingleton<LedgerRetention>();
        services.AddSingleton<LedgerReview>();
        return services;
    }

    private static T Bind<T>(IConfiguration configuration, string section)
        where T : new()
    {
        var options = new T();
        Cli.ConfigurationBinding.Bind(configuration.GetSection(section), options); // a value that does not convert: one line naming the setting
        return options;
    }
}

using System.Globalization;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Custodian.Tests.Infrastructure;

/// <summary>The console pages' localised texts as the pages read them (resources under <c>Resources</c>), for text tests.</summary>
internal static class PageText
{
    /// <summary>The localizer factory the web host uses (resource path <c>Resources</c>).</summary>
    public static ResourceManagerStringLocalizerFactory Factory() =>
        new(Options.Create(new LocalizationOptions { ResourcesPath = "Resources" }), NullLoggerFactory.Instance);

    /// <summary>The localizer of the resource type <paramref name="resource"/> (e.g. <c>AlertText</c>).</summary>
    public static IStringLocalizer For(Type resource) => Factory().Create(resource);

    /// <summary>Runs <paramref name="run"/> with the UI culture <paramref name="language"/> (e.g. "ko", "en") and restores the previous one.</summary>
    public static string InCulture(string language, Func<string> run)
    {
        var before = CultureInfo.CurrentUICulture;
        CultureInfo.CurrentUICulture = CultureInfo.GetCultureInfo(language);
        try
        {
            return run();
        }
        finally
        {
            CultureInfo.CurrentUICulture = before;
        }
    }
}

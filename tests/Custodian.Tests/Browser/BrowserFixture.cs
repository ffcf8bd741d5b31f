using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Playwright;

namespace Custodian.Tests.Browser;

/// <summary>
/// One headless Chromium (Debian's /usr/bin/chromium, installed by .ci/run) driven by Playwright, shared by
/// every test of the <see cref="BrowserCollection"/>. Each test opens its own context (cookies, client
/// certificate, viewport, language) with <see cref="NewPageAsync"/> and disposes it.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    /// <summary>Where Debian installs Chromium; Playwright cannot download browsers here.</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>
    /// Runs <paramref name="action"/> (a click or key press that follows a link or submits a form) and waits until the
    /// page holds a <em>new</em> document whose URL satisfies <paramref name="arrived"/> and whose HTML is parsed
    /// (<c>document.readyState</c> is no longer <c>loading</c>). It polls the page itself instead of using Playwright's
    /// <c>WaitForURLAsync</c>: when the URL already matched, that waited for a load-state event which, on a loaded CI
    /// machine, sometimes never reached the client (30 s timeouts in fresh-clone runs, with every wait state tried). The
    /// old document is marked before the action, so a navigation to the same URL is not mistaken for arrival.
    /// </summary>
    /// <param name="page">The page.</param>
    /// <param name="action">What starts the navigation.</param>
    /// <param name="arrived">True for the destination's URL.</param>
    /// <returns>The URL arrived at.</returns>
    /// <exception cref="TimeoutException">No such document within about 30 seconds (600 polls 50 ms apart).</exception>
    public static async Task<Uri> NavigateAsync(IPage page, Func<Task> action, Func<Uri, bool> arrived)
    {
        await page.EvaluateAsync("() => { window.__custodianPreviousDocument = true; }");
        await action();
        for (var poll = 0; poll < 600; poll++)
        {
            var url = new Uri(page.Url);
            if (arrived(url))
            {
                try
                {
                    if (await page.EvaluateAsync<bool>("() => window.__custodianPreviousDocument !== true && document.readyState !== 'loading'"))
                    {
                        return url;
                    }
                }
                catch (PlaywrightException)
                {
                    // The document was replaced while the check ran: look again.
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"The page did not arrive at the expected URL with a new document; it is at {page.Url}.");
    }

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary>The running browser.</summary>
    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser has not started.");

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's chromium package (apt-get install chromium fonts-noto-cjk), as .ci/run does.");
        }

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
        });
    }

    /// <summary>
    /// A page in a fresh browser context. The server's certificate is issued by the test host's own CA, which
    /// the browser does not know, so certificate errors are ignored (TLS is still negotiated for real);
    /// <paramref name="clientCertificate"/>, when given, is presented to <paramref name="origin"/> (mutual TLS).
    /// </summary>
    /// <param name="origin">The server's base URL.</param>
    /// <param name="clientCertificate">A device certificate with its private key, or null.</param>
    /// <param name="language">Browser language: <c>ko-KR</c> or <c>en-US</c>.</param>
    /// <param name="width">Viewport width in CSS pixels (375 for a phone).</param>
    public async Task<IPage> NewPageAsync(Uri origin, X509Certificate2? clientCertificate = null, string language = "ko-KR", int width = 1280)
    {
        var options = new BrowserNewContextOptions
        {
            IgnoreHTTPSErrors = true,
            Locale = language,
            ExtraHTTPHeaders = new Dictionary<string, string> { ["Accept-Language"] = language },
            ViewportSize = new ViewportSize { Width = width, Height = width < 600 ? 812 : 900 },
            BaseURL = origin.ToString(),
        };
        if (clientCertificate is not null)
        {
            options.ClientCertificates =
            [
                new ClientCertificate
                {
                    Origin = origin.GetLeftPart(UriPartial.Authority),
                    Cert = Encoding.ASCII.GetBytes(clientCertificate.ExportCertificatePem()),
                    Key = Encoding.ASCII.GetBytes(ExportKeyPem(clientCertificate)),
                },
            ];
        }

        var context = await Browser.NewContextAsync(options);
        context.SetDefaultTimeout(30_000); // generous: the CI machine has 2 cores shared with the server under test
        return await context.NewPageAsync();
    }

    /// <summary>
    /// Saves a full-page screenshot to <c>artifacts/screenshots/NAME.png</c> at the repository root (kept by CI
    /// for people to look at; tests assert text, never pixels) and returns its path.
    /// </summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name)
    {
        var directory = Path.Combine(RepositoryRoot(), "artifacts", "screenshots");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }

    private static string ExportKeyPem(X509Certificate2 certificate)
    {
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey() ?? certificate.GetRSAPrivateKey()
            ?? throw new InvalidOperationException("The client certificate has no private key.");
        return key.ExportPkcs8PrivateKeyPem();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Custodian.sln")))
            {
                return dir.FullName;
            }
        }

        return Path.GetTempPath();
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

/// <summary>Tests that share one <see cref="BrowserFixture"/> (they run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Browser";
}

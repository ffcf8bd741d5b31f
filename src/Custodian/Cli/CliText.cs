using System.Globalization;

namespace Custodian.Cli;

/// <summary>Wording shared by the verbs' console output.</summary>
internal static class CliText
{
    /// <summary>
    /// A count with its noun in the right number: <c>1 bad row</c>, <c>0 bad rows</c>, <c>1,200 bad rows</c>
    /// (thousands grouped, invariant culture).
    /// </summary>
    /// <param name="count">The count (any value; only exactly 1 takes the singular).</param>
    /// <param name="singular">The noun phrase for one, e.g. <c>bad row</c>.</param>
    /// <param name="plural">The noun phrase for other counts; default <paramref name="singular"/> + <c>s</c>.</param>
    /// <returns>The count and noun phrase separated by one space.</returns>
    public static string Count(long count, string singular, string? plural = null) =>
        count.ToString("N0", CultureInfo.InvariantCulture) + " " + (count == 1 ? singular : plural ?? singular + "s");

    /// <summary>
    /// One line for a request to <paramref name="url"/> that failed below HTTP, naming the cause found among the inner
    /// exceptions instead of .NET's "see inner exception": a refused or failed connection (the socket error), or a TLS
    /// handshake that failed (the server's certificate is not trusted by the CA the verb uses, followed by
    /// <paramref name="tlsHint"/> when given).
    /// </summary>
    /// <param name="url">The server asked.</param>
    /// <param name="exception">What the HTTP client threw.</param>
    /// <param name="tlsHint">What to check when the TLS handshake failed, e.g. which --data or CA the verb trusts; optional.</param>
    /// <returns>The message, without a trailing full stop when it ends with the driver's own sentence.</returns>
    public static string Unreachable(Uri url, HttpRequestException exception, string? tlsHint = null)
    {
        for (Exception? e = exception.InnerException; e is not null; e = e.InnerException)
        {
            if (e is System.Security.Authentication.AuthenticationException)
            {
                return $"cannot reach {url}: the TLS handshake failed (the server's certificate is not trusted{(tlsHint is null ? ")." : "; " + tlsHint + ").")}";
            }

            if (e is System.Net.Sockets.SocketException socket)
            {
                return $"cannot reach {url}: {socket.Message} ({socket.SocketErrorCode}).";
            }
        }

        return $"cannot reach {url}: {exception.Message}";
    }
}

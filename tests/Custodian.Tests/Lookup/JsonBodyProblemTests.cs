using System.Net;
using System.Text;
using Custodian.Hosting;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Lookup;

/// <summary>
/// JSON bodies a JSON endpoint cannot use, through the real pipeline (the mapping in <see cref="ProblemMiddleware"/> and
/// <see cref="JsonCharsetMiddleware"/> is shared by every JSON endpoint): a member of the wrong type is named with the
/// type it must have, positions count from 1, a missing body never names an internal parameter, and a charset other
/// than UTF-8 is 415. No detail echoes the value sent.
/// </summary>
public sealed class JsonBodyProblemTests
{
    private const string Search = "/api/v1/subscribers/search";

    [Fact]
    public async Task A_member_of_the_wrong_type_a_missing_body_and_a_syntax_error_are_named_without_the_value()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var (clerk, _, _) = await host.ClerkAsync("C0001");

        async Task<string> DetailAsync(string body, string code = ErrorCodes.ValidationFailed, HttpStatusCode status = HttpStatusCode.BadRequest)
        {
            using var response = await clerk.PostAsync(Search, new StringContent(body, Encoding.UTF8, "application/json"));
            var problem = await ProblemAssert.IsProblemAsync(response, status, code);
            return problem.GetProperty("detail").GetString()!;
        }

        Assert.Equal("The request is malformed: $.phone must be a string.", await DetailAsync("{\"phone\":12345}"));
        Assert.Equal("The request is malformed: $.phone must be a string.", await DetailAsync("{\"phone\":{\"n\":\"01012345678\"}}"));
        Assert.Equal("The request is malformed: the JSON body must be an object.", await DetailAsync("[\"01012345678\"]"));
        const string NeedsBody = "The request is malformed: the request needs a JSON body (an object), sent with 'Content-Type: application/json'.";
        Assert.Equal(NeedsBody, await DetailAsync(string.Empty));
        Assert.Equal(NeedsBody, await DetailAsync("null"));
        Assert.Equal(NeedsBody, await DetailAsync(" \n "));
        // 'x' is the third byte of the third line.
        Assert.Equal("The request is malformed: the JSON body is not valid (at $, line 3, byte 3).", await DetailAsync("{\n  \"phone\": \"010\",\n  x\n}"));
        Assert.Equal("The request is malformed: the JSON body is not valid (at $, line 1, byte 1).", await DetailAsync("x"));
        // A phone number written as a number is refused as malformed JSON; its digits are not echoed.
        var leadingZero = await DetailAsync("{\"phone\": 01012345678}");
        Assert.DoesNotContain("1234", leadingZero, StringComparison.Ordinal);
        Assert.StartsWith("The request is malformed: the JSON body is not valid (at $", leadingZero, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_string_with_bytes_that_are_not_utf8_is_named_as_such_not_as_a_wrong_type()
    {
        // 0xC3 0x28: a two-byte lead followed by '(' (RFC 3629 §3 forbids it); the rest is well-formed JSON.
        byte[] body = [.. "{\"phone\":\"010"u8, 0xC3, 0x28, .. "1234\"}"u8];

        await AssertRefusedAndRecordedAsync(
            body,
            "application/json",
            HttpStatusCode.BadRequest,
            ErrorCodes.ValidationFailed,
            "The request is malformed: the body is not valid UTF-8 JSON: it holds bytes that are not UTF-8 (line 1, byte 14).");
    }

    [Theory]
    [InlineData(new byte[] { 0x22, 0x78, 0x22, 0x3A, 0x22, 0xFF, 0x22 }, 2, 6)] // a member the endpoint skips: "x":"\xff"
    [InlineData(new byte[] { 0x22, 0xC0, 0xAF, 0x22, 0x3A, 0x31 }, 2, 2)] // an overlong encoding in a member's name (RFC 3629 §3)
    [InlineData(new byte[] { 0x22, 0x78, 0x22, 0x3A, 0x22, 0xFF, 0x22 }, 2, 6, "2.0")] // no Content-Length on HTTP/2: neither header tells of a body
    [InlineData(new byte[] { 0x22, 0x78, 0x22, 0x3A, 0x22, 0xFF, 0x22 }, 2, 6, "1.1")] // chunked on HTTP/1.1
    public async Task Bytes_that_are_not_utf8_anywhere_in_a_json_body_are_refused_and_recorded(byte[] member, int line, int at, string? unknownLengthOver = null)
    {
        byte[] body = [.. "{\"phone\":\"010-3796-8942\",\n"u8, .. member, .. "}"u8];

        await AssertRefusedAndRecordedAsync(
            body,
            "application/json",
            HttpStatusCode.BadRequest,
            ErrorCodes.ValidationFailed,
            $"The request is malformed: the body is not valid UTF-8 JSON: it holds bytes that are not UTF-8 (line {line}, byte {at}).",
            unknownLengthOver is null ? null : Version.Parse(unknownLengthOver));
    }

    [Theory]
    [InlineData("application/json; charset=utf-16")]
    [InlineData("application/json; charset=UTF-16LE")]
    [InlineData("application/json; charset=iso-8859-1")]
    [InlineData("application/json; charset=\"utf-32\"")]
    [InlineData("application/json; charset=no-such-charset")] // was 500 internal-error
    [InlineData("application/problem+json; charset=latin1")]
    public async Task A_json_body_in_a_charset_other_than_utf8_is_415_recorded_and_never_echoed(string contentType)
    {
        await AssertRefusedAndRecordedAsync(
            Encoding.UTF8.GetBytes("{\"phone\":\"010-0000-0001\"}"),
            contentType,
            HttpStatusCode.UnsupportedMediaType,
            ErrorCodes.UnsupportedMediaType,
            "The body must be JSON in UTF-8, sent with 'Content-Type: application/json' (a charset, if named, must be utf-8).");
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json; charset=UTF-8")]
    [InlineData("application/json; charset=\"utf-8\"")]
    public async Task A_json_body_in_utf8_is_served(string contentType)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var (clerk, _, _) = await host.ClerkAsync("C0001");

        using var response = await clerk.PostAsync(Search, Body("{\"phone\":\"010-0000-0001\"}", contentType));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static ByteArrayContent Body(string json, string contentType) => Body(Encoding.UTF8.GetBytes(json), contentType);

    private static ByteArrayContent Body(byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return content;
    }

    // Clerk C0001 of a new host sends body to the search endpoint: the answer is the problem (status, code, detail) and the
    // refusal is recorded, one ledger entry, before the endpoint.
    // With unknownLengthOver, the body goes without Content-Length over that HTTP version exactly.
    private static async Task AssertRefusedAndRecordedAsync(byte[] body, string contentType, HttpStatusCode status, string code, string detail, Version? unknownLengthOver = null)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        var before = (await host.LedgerAsync()).Count;

        using HttpContent content = unknownLengthOver is null ? Body(body, contentType) : new UnknownLengthContent(body, contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, Search)
        {
            Content = content,
            Version = unknownLengthOver ?? clerk.DefaultRequestVersion,
            VersionPolicy = unknownLengthOver is null ? clerk.DefaultVersionPolicy : HttpVersionPolicy.RequestVersionExact,
        };
        using var response = await clerk.SendAsync(request);
        Assert.Equal(unknownLengthOver ?? response.Version, response.Version);

        var problem = await ProblemAssert.IsProblemAsync(response, status, code);
        Assert.Equal(detail, problem.GetProperty("detail").GetString());
        var entry = Assert.Single((await host.LedgerAsync()).Skip(before)).Entry;
        Assert.Equal(
            (AccessTask.Refused, AccessOutcome.Denied, code, "C0001", "request body refused: POST /api/v1/subscribers/search"),
            (entry.Task, entry.Outcome, entry.ErrorCode, entry.Account, entry.Reason));
    }
}

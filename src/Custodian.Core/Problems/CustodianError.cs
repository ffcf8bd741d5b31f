namespace Custodian.Problems;

/// <summary>
/// An expected failure as a value: a stable <see cref="Code"/> from <see cref="ErrorCodes"/>, the
/// HTTP status it maps to, and a message fit to show the caller. Messages name fields and rules,
/// never personal values.
/// </summary>
/// <param name="Code">Stable error code.</param>
/// <param name="Status">HTTP status code for the problem response (400–599).</param>
/// <param name="Message">One-sentence explanation without personal data.</param>
/// <param name="IsTransient">True when retrying the same request later may succeed (e.g. ledger unavailable).</param>
public sealed record CustodianError(string Code, int Status, string Message, bool IsTransient = false)
{
    /// <summary>Problem <c>type</c> URI for <see cref="Code"/>.</summary>
    public string TypeUri => ErrorCodes.TypePrefix + Code;

    /// <summary>Per-field validation messages (field name → messages), or null.</summary>
    public IReadOnlyDictionary<string, string[]>? Errors { get; init; }

    /// <summary>For rate limits: how long until a retry can succeed (sent as the HTTP <c>Retry-After</c> header, RFC 9110 §10.2.3), or null.</summary>
    public TimeSpan? RetryAfter { get; init; }
}

/// <summary>Exception carrying a <see cref="CustodianError"/>, for paths where a result value is impractical (CLI, streaming import).</summary>
public sealed class CustodianException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CustodianException(CustodianError error)
        : base(error.Message) => Error = error;

    /// <summary>Creates the exception.</summary>
    public CustodianException()
        : this(new CustodianError(ErrorCodes.InternalError, 500, "Unexpected error."))
    {
    }

    /// <summary>Creates the exception.</summary>
    public CustodianException(string message)
        : this(new CustodianError(ErrorCodes.InternalError, 500, message))
    {
    }

    /// <summary>Creates the exception.</summary>
    public CustodianException(string message, Exception innerException)
        : base(message, innerException) => Error = new CustodianError(ErrorCodes.InternalError, 500, message);

    /// <summary>The error.</summary>
    public CustodianError Error { get; }
}

/// <summary>Either a value or a <see cref="CustodianError"/> (NodaTime <c>ParseResult</c> style).</summary>
/// <typeparam name="T">The success value's type.</typeparam>
public readonly struct Result<T>
{
    private readonly T? _value;

    private Result(T? value, CustodianError? error)
    {
        _value = value;
        Error = error;
    }

    /// <summary>The error, or null on success.</summary>
    public CustodianError? Error { get; }

    /// <summary>True when there is a value.</summary>
    public bool IsSuccess => Error is null;

    /// <summary>The value.</summary>
    /// <exception cref="InvalidOperationException">On a failure result.</exception>
    public T Value => Error is null ? _value! : throw new InvalidOperationException($"Result is a failure: {Error.Code}");

    /// <summary>A success.</summary>
    public static Result<T> Success(T value) => new(value, null);

    /// <summary>A failure.</summary>
    public static Result<T> Failure(CustodianError error) => new(default, error ?? throw new ArgumentNullException(nameof(error)));

    /// <summary>Implicit success.</summary>
    public static implicit operator Result<T>(T value) => Success(value);

    /// <summary>Implicit failure.</summary>
    public static implicit operator Result<T>(CustodianError error) => Failure(error);
}

using System.Text;

namespace Custodian.Protection.Import;

/// <summary>
/// Passes CSV text through line by line and replaces each physical line longer than a limit (in UTF-8 bytes, line break
/// excluded) by <see cref="Placeholder"/>, recording its line number, so that the CSV reader never meets a record it
/// cannot buffer and the lines after it are still read. Line breaks are <c>\n</c>, <c>\r\n</c> or <c>\r</c>, counted as
/// the CSV reader counts them (line 1 is the first); the numbering of every later line is unchanged. Memory is bounded by
/// the limit: a line is held until it ends or passes the limit, and then dropped character by character.
/// <para>
/// The importer's CSV reader ends every record at a line break (an unterminated quote spoils only its own line), so a
/// record is never longer than the longest line passed through.
/// </para>
/// Not thread-safe. Does not dispose the inner reader.
/// </summary>
internal sealed class OverlongLineFilter : TextReader
{
    /// <summary>What an over-long line is replaced with: one field that no valid record of the import has alone.</summary>
    public const string Placeholder = "\u2026";

    private readonly TextReader _inner;
    private readonly int _maxLineBytes;
    private readonly char[] _input = new char[16 * 1024];
    private readonly char[] _line;
    private readonly Queue<long> _overlong = new();
    private int _inputPos;
    private int _inputLength;
    private bool _innerEnded;
    private int _lineLength;
    private long _lineBytes;
    private bool _skipping;
    private bool _afterCr;
    private long _lineNumber = 1;
    private int _outPos;
    private int _outLength;

    /// <summary>Creates the filter.</summary>
    /// <param name="inner">The CSV text.</param>
    /// <param name="maxLineBytes">Longest line passed through, in UTF-8 bytes without its line break; at least 1.</param>
    public OverlongLineFilter(TextReader inner, int maxLineBytes)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);
        _inner = inner;
        _maxLineBytes = maxLineBytes;
        _line = new char[Math.Max(maxLineBytes, Placeholder.Length) + 2];
    }

    /// <summary>
    /// Whether physical line <paramref name="line"/> was replaced. Lines must be asked in ascending order (as the CSV
    /// reader reaches them); earlier replaced lines are forgotten on the way.
    /// </summary>
    /// <param name="line">A 1-based physical line number.</param>
    /// <returns>True when that line was longer than the limit.</returns>
    public bool WasReplaced(long line)
    {
        while (_overlong.TryPeek(out var next) && next < line)
        {
            _overlong.Dequeue();
        }

        return _overlong.TryPeek(out var first) && first == line;
    }

    /// <inheritdoc/>
    public override int Read(Span<char> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            if (Produce(buffer) is var n and > 0)
            {
                return n;
            }

            if (_inputPos < _inputLength)
            {
                continue;
            }

            if (_innerEnded)
            {
                return EndOfInput() ? Produce(buffer) : 0;
            }

            _inputLength = _inner.Read(_input);
            _inputPos = 0;
            _innerEnded = _inputLength == 0;
        }
    }

    /// <inheritdoc/>
    public override async ValueTask<int> ReadAsync(Memory<char> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            if (Produce(buffer.Span) is var n and > 0)
            {
                return n;
            }

            if (_inputPos < _inputLength)
            {
                continue;
            }

            if (_innerEnded)
            {
                return EndOfInput() ? Produce(buffer.Span) : 0;
            }

            _inputLength = await _inner.ReadAsync(_input.AsMemory(), cancellationToken).ConfigureAwait(false);
            _inputPos = 0;
            _innerEnded = _inputLength == 0;
        }
    }

    /// <inheritdoc/>
    public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

    /// <inheritdoc/>
    public override Task<int> ReadAsync(char[] buffer, int index, int count) => ReadAsync(buffer.AsMemory(index, count)).AsTask();

    /// <inheritdoc/>
    public override int Read()
    {
        Span<char> one = stackalloc char[1];
        return Read(one) == 0 ? -1 : one[0];
    }

    /// <inheritdoc/>
    public override int Peek() => -1; // not supported: the CSV reader reads blocks

    /// <summary>
    /// Copies a finished line to <paramref name="destination"/>, or consumes input until a line ends. Returns the number of
    /// characters copied; 0 when more input is needed.
    /// </summary>
    private int Produce(Span<char> destination)
    {
        if (_outPos < _outLength)
        {
            var n = Math.Min(destination.Length, _outLength - _outPos);
            _line.AsSpan(_outPos, n).CopyTo(destination);
            _outPos += n;
            if (_outPos == _outLength)
            {
                _outPos = _outLength = _lineLength = 0;
            }

            return n;
        }

        while (_inputPos < _inputLength)
        {
            var rest = _input.AsSpan(_inputPos, _inputLength - _inputPos);
            var end = rest.IndexOfAny('\r', '\n');
            if (end == 0 && rest[0] == '\n' && _afterCr)
            {
                // The \n of a \r\n: the line (and its number) ended at the \r.
                _afterCr = false;
                _inputPos++;
                _line[0] = '\n';
                _outLength = 1;
                return Produce(destination);
            }

            _afterCr = false;
            var segment = end < 0 ? rest : rest[..end];
            if (!_skipping)
            {
                var bytes = Encoding.UTF8.GetByteCount(segment);
                if (_lineBytes + bytes > _maxLineBytes)
                {
                    _skipping = true;
                    _lineLength = 0;
                }
                else
                {
                    segment.CopyTo(_line.AsSpan(_lineLength));
                    _lineLength += segment.Length;
                    _lineBytes += bytes;
                }
            }

            _inputPos += segment.Length;
            if (end >= 0)
            {
                var lineBreak = rest[end];
                _inputPos++;
                _afterCr = lineBreak == '\r';
                EndLine();
                _line[_lineLength++] = lineBreak;
                _outLength = _lineLength;
                return Produce(destination);
            }
        }

        return 0;
    }

    /// <summary>At the end of the input: a last line without a line break becomes output. Returns whether there is any.</summary>
    private bool EndOfInput()
    {
        if (_lineLength == 0 && !_skipping)
        {
            return false;
        }

        EndLine();
        _outLength = _lineLength;
        return true;
    }

    private void EndLine()
    {
        if (_skipping)
        {
            Placeholder.AsSpan().CopyTo(_line);
            _lineLength = Placeholder.Length;
            _overlong.Enqueue(_lineNumber);
        }

        _skipping = false;
        _lineBytes = 0;
        _lineNumber++;
    }
}

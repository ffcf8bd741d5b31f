namespace Custodian.Access.Internal;

/// <summary>Conversions between <see cref="DateTimeOffset"/> and the INTEGER Unix-millisecond (UTC) time columns.</summary>
internal static class UnixMs
{
    public static long From(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public static DateTimeOffset To(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);

    public static DateTimeOffset? ToNullable(object value) => value is DBNull or null ? null : To(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
}

using Custodian.Hosting;
using Custodian.Storage;

namespace Custodian.Tests.Backends;

public sealed class StorageSettingsTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("sqlite")]
    [InlineData("SQLite")]
    public void Empty_or_sqlite_selects_the_embedded_default(string? value)
    {
        var settings = StorageSettings.Parse(value);
        Assert.True(settings.IsSuccess);
        Assert.True(settings.Value!.IsSqlite);
        Assert.Null(settings.Value.ConnectionString);
        Assert.Equal("sqlite", settings.Value.Describe());
    }

    [Fact]
    public void A_postgres_url_becomes_an_npgsql_connection_string_and_is_described_without_its_password()
    {
        var settings = StorageSettings.Parse("postgres://cust%40dian:p%3Ass@db1.example:6432/custodian?sslmode=require&Timeout=7").Value!;

        Assert.False(settings.IsSqlite);
        Assert.Same(StorageDialect.Postgres, settings.Dialect);
        var b = new Npgsql.NpgsqlConnectionStringBuilder(settings.ConnectionString);
        Assert.Equal(("db1.example", 6432, "custodian", "cust@dian", "p:ss", Npgsql.SslMode.Require, 7, "custodian"), (b.Host, b.Port, b.Database, b.Username, b.Password, b.SslMode, b.Timeout, b.ApplicationName));
        Assert.Equal("postgres db1.example:6432/custodian as cust@dian", settings.Describe());
        Assert.Equal(5432, new Npgsql.NpgsqlConnectionStringBuilder(StorageSettings.Parse("postgresql://u@h/d").Value!.ConnectionString).Port);
    }

    [Fact]
    public void An_npgsql_connection_string_is_taken_as_is_with_the_application_name_added()
    {
        var settings = StorageSettings.Parse("Host=127.0.0.1;Port=55432;Username=u;Password=secret-pw;Database=d").Value!;
        var b = new Npgsql.NpgsqlConnectionStringBuilder(settings.ConnectionString);
        Assert.Equal(("127.0.0.1", 55432, "d", "custodian"), (b.Host, b.Port, b.Database, b.ApplicationName));
        Assert.DoesNotContain("secret-pw", settings.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mysql", "Custodian:Storage must be 'sqlite', a postgres:// URL or an Npgsql connection string (Host=…;Database=…).")]
    [InlineData("Hots=x;Database=d;Password=hunter2", "Custodian:Storage is not a valid Npgsql connection string (an unknown keyword or a malformed value).")]
    [InlineData("Database=d;Password=hunter2", "Custodian:Storage names no PostgreSQL host.")]
    [InlineData("postgres://u:hunter2@h", "Custodian:Storage names no PostgreSQL database.")]
    [InlineData("postgres://u:hunter2@h/d?nosuchkey=1", "Custodian:Storage has a URL query key that is not an Npgsql connection-string keyword, or a bad value for one.")]
    [InlineData("postgres://u:hunter2@h/d?flag", "Custodian:Storage has a URL query part that is not key=value.")]
    public void A_bad_value_is_refused_naming_the_setting_and_never_echoing_it(string value, string message)
    {
        var result = StorageSettings.Parse(value);
        Assert.False(result.IsSuccess);
        Assert.Equal(StorageSettings.InvalidSetting, result.Error!.Code);
        Assert.Equal(message, result.Error.Message);
        Assert.DoesNotContain("hunter2", result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Option_failures_name_the_setting_not_a_dotnet_type()
    {
        var file = Path.GetTempFileName();
        try
        {
            Assert.Equal(["Custodian:TerminalPort must be between 0 and 65535."], CustodianOptionsValidator.ValidateAll(new CustodianOptions { TerminalPort = 70_000 }));
            Assert.Equal(
                ["the terminal and portal ports must differ (serve --terminal-port / --portal-port, Custodian:TerminalPort / Custodian:PortalPort)."],
                CustodianOptionsValidator.ValidateAll(new CustodianOptions { TerminalPort = 7600, PortalPort = 7600 }));
            Assert.Equal([$"the data directory (--data, Custodian:DataDirectory) must be a directory, not a file: {file}"], CustodianOptionsValidator.ValidateAll(new CustodianOptions { DataDirectory = file }));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void The_storage_file_holds_the_value_and_cannot_be_combined_with_storage()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "postgres://u:pw@h:5433/d\n");
            var fromFile = StorageComposition.Resolve(new CustodianOptions { StorageFile = file });
            Assert.Equal("postgres h:5433/d as u", fromFile.Value!.Describe());

            var both = StorageComposition.Resolve(new CustodianOptions { StorageFile = file, Storage = "Host=h;Database=d" });
            Assert.Equal("Custodian:Storage and Custodian:StorageFile are both set; set one.", both.Error!.Message);

            var missing = StorageComposition.Resolve(new CustodianOptions { StorageFile = file + ".missing" });
            Assert.Equal("Custodian:StorageFile names a file that cannot be read.", missing.Error!.Message);
            Assert.Contains("Custodian:StorageFile names a file that cannot be read.", CustodianOptionsValidator.ValidateAll(new CustodianOptions { StorageFile = file + ".missing" }));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Postgres_ddl_gets_64_bit_integers_and_bytea_outside_string_literals()
    {
        const string sql = "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB NOT NULL, n integer, s TEXT DEFAULT 'INTEGER BLOB', blobby INTEGER);";
        Assert.Equal(sql, StorageDialect.Sqlite.TranslateDdl(sql));
        Assert.Equal(
            "CREATE TABLE t (id BIGINT PRIMARY KEY, b BYTEA NOT NULL, n BIGINT, s TEXT DEFAULT 'INTEGER BLOB', blobby BIGINT);",
            StorageDialect.Postgres.TranslateDdl(sql));
    }
}

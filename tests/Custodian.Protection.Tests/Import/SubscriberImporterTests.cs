using System.Diagnostics;
using System.Text;
using Custodian.Protection.Import;
using Custodian.Protection.Sample;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Tests.Support;
using Custodian.Protection.Validation;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Custodian.Protection.Tests.Import;

public sealed class SubscriberImporterTests(ITestOutputHelper output)
{
    private const string Duplicate = "must be unique: another row of this file or an existing subscriber has the same phone number";
    private const string StoreRule = "must be a store code: 1-64 ASCII letters (A-Z, a-z), digits, '-', '_' or '.', starting with a letter or digit";
    private const string DateRule = "must be a date in the form yyyy-MM-dd";

    /// <summary>Physical lines 1–13; good rows on lines 2 and 12; every line but the blank one is a record of its own.</summary>
    internal static readonly string[] MixedFile =
    [
        Csv.Header,                                                                                                     // 1
        "홍길동,711231-1234567,010-1234-5678,서울특별시 종로구 청운동 1-1,5G 슬림,2025-01-02,2027-01-01,S001",                // 2 good
        "김철수,711232-1234567,010-2222-3333,서울특별시 강남구 역삼동 5,LTE 베이직,2025-01-02,2027-01-01,S001",              // 3 bad RRN date
        "",                                                                                                             // 4 blank
        "\"이영희\",8506152000000,\"010-3333-4444\",\"부산광역시 해운대구",                                                   // 5 a quote not closed on its line…
        "우동 7\",LTE 베이직,2025-01-02,2027-01-01,S002",                                                               // 6 …is not continued here: a row of its own
        "박민수,8506151000000,02-123-4567,대구광역시 수성구 범어동 1,LTE 베이직,2025-13-01,2024-01-01,S 003",              // 7 fixed line, bad date, bad store
        "최지우,9001012000000,010-4444-5555,\"인천광역시 연수구 송도동 3, 101동\",5G 슬림,2025-05-01,2025-04-30,S003",      // 8 end before start
        "정하늘,7301011000000,010.1234.5678,광주광역시 서구 치평동 9,5G 슬림,2025-01-01,2027-01-01,S004",                  // 9 duplicate of line 2
        "강바다,8101011000000,010-5555-6666,울산광역시 남구 삼산동 1,5G 슬림,2025-01-01,2027-01-01",                      // 10 seven fields
        "한별,8201012000000,010-6666-7777,대전광역시 유성구 궁동 1,\"5G \"슬림\",2025-01-01,2027-01-01,S005",              // 11 broken quoting
        "윤아,0506154000000,010-7777-8888,제주특별자치도 제주시 연동 2,키즈 LTE 19,2026-01-01,2028-01-01,S006",          // 12 good
        ",,,,,,,",                                                                                                      // 13 all empty
    ];

    private static readonly ImportRowError[] MixedFileErrors =
    [
        new(3, "rrn", "must start with a real birth date (YYMMDD) in the century its 7th digit names"),
        new(5, "row", SubscriberImporter.UnterminatedQuoteRule),
        new(6, "row", "must be well-formed CSV (RFC 4180 quoting)"),
        new(7, "phone", "must be a Korean mobile number"),
        new(7, "contract_start", DateRule),
        new(7, "home_store", StoreRule),
        new(8, "contract_end", "must not be before contract_start"),
        new(9, "phone", Duplicate),
        new(10, "row", "must have 8 fields like the header"),
        new(11, "row", "must be well-formed CSV (RFC 4180 quoting)"),
        new(13, "name", "is required"),
        new(13, "rrn", "is required"),
        new(13, "phone", "is required"),
        new(13, "address", "is required"),
        new(13, "rate_plan", "is required"),
        new(13, "contract_start", DateRule),
        new(13, "contract_end", DateRule),
        new(13, "home_store", StoreRule),
    ];

    [Fact]
    public async Task All_or_nothing_writes_nothing_and_lists_every_bad_row_with_physical_line_numbers()
    {
        using var env = await TestEnvironment.CreateAsync();

        var report = await env.ImportAsync(ImportMode.AllOrNothing, MixedFile);

        Assert.Equal(MixedFileErrors, report.Errors);
        Assert.Equal(11, report.RowsRead);
        Assert.Equal(9, report.RowsRejected);
        Assert.Equal(0, report.RowsImported);
        Assert.False(report.Succeeded);
        Assert.False(report.ErrorsTruncated);
        Assert.Equal(0, await new SubscriberVault(env.Database, env.Keys).CountAsync());
    }

    [Fact]
    public async Task Skip_bad_rows_keeps_the_good_rows_and_reports_the_same_errors()
    {
        using var env = await TestEnvironment.CreateAsync();

        var report = await env.ImportAsync(ImportMode.SkipBadRows, MixedFile);

        Assert.Equal(MixedFileErrors, report.Errors);
        Assert.Equal(11, report.RowsRead);
        Assert.Equal(9, report.RowsRejected);
        Assert.Equal(2, report.RowsImported);
        var vault = new SubscriberVault(env.Database, env.Keys);
        Assert.Equal(2, await vault.CountAsync());
        Assert.Equal("홍길동", (await vault.DecryptAsync(Assert.Single(await vault.FindByPhoneAsync("+821012345678"))))!.Name);
        Assert.Equal("윤아", (await vault.DecryptAsync(Assert.Single(await vault.FindByPhoneAsync("+821077778888"))))!.Name);
    }

    [Fact]
    public async Task Error_reports_and_messages_never_contain_the_values()
    {
        using var env = await TestEnvironment.CreateAsync();

        var report = await env.ImportAsync(ImportMode.AllOrNothing, MixedFile);

        var text = string.Join("\n", report.Errors.Select(e => $"{e.Line} {e.Field} {e.Rule}"));
        foreach (var value in new[] { "711232", "김철수", "02-123-4567", "2025-13-01", "S 003", "010.1234.5678", "5G \"슬림" })
        {
            Assert.DoesNotContain(value, text);
        }
    }

    [Fact]
    public async Task Duplicates_against_the_database_are_row_errors()
    {
        using var env = await TestEnvironment.CreateAsync();
        await env.ImportAsync(ImportMode.AllOrNothing, Csv.Header, "홍길동,711231-1234567,010-1234-5678,서울특별시 종로구 청운동 1-1,5G 슬림,2025-01-02,2027-01-01,S001");

        var again = await env.ImportAsync(
            ImportMode.SkipBadRows,
            Csv.Header,
            "김철수,7212311234567,010-9876-5432,서울특별시 강남구 역삼동 5,LTE 베이직,2025-01-02,2027-01-01,S001",
            "홍길동,711231-1234567,+82 10 1234 5678,서울특별시 종로구 청운동 1-1,5G 슬림,2025-01-02,2027-01-01,S001");

        Assert.Equal([new ImportRowError(3, "phone", Duplicate)], again.Errors);
        Assert.Equal(1, again.RowsImported);
        Assert.Equal(2, await new SubscriberVault(env.Database, env.Keys).CountAsync());
    }

    [Theory]
    [InlineData("name,rrn,phone,address,rate_plan,contract_start,contract_end", "must name exactly the columns name,rrn,phone,address,rate_plan,contract_start,contract_end,home_store, and optionally family_plan (missing columns: home_store)")]
    [InlineData("name,rrn,phone,address,rate_plan,contract_start,contract_end,home_store,email", "must name exactly the columns name,rrn,phone,address,rate_plan,contract_start,contract_end,home_store, and optionally family_plan (unknown columns at positions: 9)")]
    [InlineData("홍길동,711231-1234567,010-1234-5678,서울특별시 종로구 청운동 1-1,5G 슬림,2025-01-02,2027-01-01,S001", "must name exactly the columns name,rrn,phone,address,rate_plan,contract_start,contract_end,home_store, and optionally family_plan (missing columns: name, rrn, phone, address, rate_plan, contract_start, contract_end, home_store; unknown columns at positions: 1, 2, 3, 4, 5, 6, 7, 8)")]
    [InlineData("name,name,rrn,phone,address,rate_plan,contract_start,contract_end,home_store", "must name exactly the columns name,rrn,phone,address,rate_plan,contract_start,contract_end,home_store, and optionally family_plan (repeated columns: name)")]
    public async Task Header_problems_are_one_clear_error_and_nothing_is_read(string header, string rule)
    {
        using var env = await TestEnvironment.CreateAsync();

        var report = await env.ImportAsync(ImportMode.SkipBadRows, header, "홍길동,711231-1234567,010-1234-5678,서울특별시 종로구 청운동 1-1,5G 슬림,2025-01-02,2027-01-01,S001");

        Assert.Equal([new ImportRowError(1, "header", rule)], report.Errors);
        Assert.Equal(0, report.RowsRead);
        Assert.Equal(0, report.RowsImported);
        Assert.Equal(0, await new SubscriberVault(env.Database, env.Keys).CountAsync());
    }

    [Fact]
    public async Task An_empty_file_is_a_header_error()
    {
        using var env = await TestEnvironment.CreateAsync();

        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(new StringReader(""));

        Assert.Equal([new ImportRowError(1, "header", "the file is empty; expected the header 'name,rrn,phone,address,rate_plan,contract_start,contract_end,home_store,family_plan' (family_plan may be left out)")], report.Errors);

        // The message is built from ImportColumns, so it names every column the import takes, optional ones included.
        var rule = Assert.Single(report.Errors).Rule;
        Assert.All(ImportColumns.All.Concat(ImportColumns.Optional), column => Assert.Contains(column, rule, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_file_that_is_not_UTF8_is_refused_field_by_field_and_nothing_garbled_is_stored()
    {
        using var env = await TestEnvironment.CreateAsync();
        var utf8 = Encoding.UTF8;
        var file = new MemoryStream();
        file.Write(utf8.GetBytes(Csv.Header + "\n"));
        // Line 2: name 홍길동 and address 서울 in CP949 / EUC-KR (an Excel "CSV" on a Korean PC), the rest ASCII.
        file.Write([0xC8, 0xAB, 0xB1, 0xE6, 0xB5, 0xBF]);
        file.Write(utf8.GetBytes(",711231-1234567,010-1234-5678,"));
        file.Write([0xBC, 0xAD, 0xBF, 0xEF]);
        file.Write(utf8.GetBytes(" 1-1,5G,2025-01-02,2027-01-01,S001\n"));
        // Line 3: a Latin-1 rate plan (José); line 4 is good UTF-8.
        file.Write(utf8.GetBytes("윤아,0506154000000,010-7777-8888,제주특별자치도 제주시 연동 2,Jos"));
        file.Write([0xE9]);
        file.Write(utf8.GetBytes(",2026-01-01,2028-01-01,S006\n"));
        file.Write(utf8.GetBytes("홍길동,711231-1234567,010-1234-5678,서울특별시 종로구 청운동 1-1,5G 슬림,2025-01-02,2027-01-01,S001\n"));
        file.Position = 0;

        using var reader = new StreamReader(file, Encoding.UTF8); // as `custodian import` reads a file
        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(reader, ImportMode.SkipBadRows);

        Assert.Equal(
            [
                new ImportRowError(2, "name", SubscriberImporter.NotUtf8Rule),
                new ImportRowError(2, "address", SubscriberImporter.NotUtf8Rule),
                new ImportRowError(3, "rate_plan", SubscriberImporter.NotUtf8Rule),
            ],
            report.Errors);
        Assert.Equal((3L, 1L, 2L), (report.RowsRead, report.RowsImported, report.RowsRejected));
        Assert.Equal(1, await new SubscriberVault(env.Database, env.Keys).CountAsync());
    }

    [Fact]
    public async Task Header_order_case_BOM_and_CRLF_are_accepted()
    {
        using var env = await TestEnvironment.CreateAsync();
        var text = "\uFEFFHome_Store,Phone,NAME,rrn,address,rate_plan,contract_start,contract_end\r\n" +
                   "S009,010-1234-5678,홍길동,711231-1234567,서울특별시 종로구 청운동 1-1,5G 슬림,2025-01-02,2027-01-01\r\n";

        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(new StringReader(text));

        Assert.True(report.Succeeded, string.Join("; ", report.Errors));
        var vault = new SubscriberVault(env.Database, env.Keys);
        var record = await vault.DecryptAsync(Assert.Single(await vault.FindByPhoneAsync("+821012345678")));
        Assert.Equal(("홍길동", "7112311234567", "S009"), (record!.Name, record.Rrn, record.HomeStore));
    }

    [Fact]
    public async Task Reports_progress_and_commits_in_batches()
    {
        using var env = await TestEnvironment.CreateAsync();
        var csv = new StringWriter();
        SampleGenerator.WriteCsv(csv, new SampleGenerator().Generate(SubscriberImporter.BatchSize + 10, 3, 11, TestEnvironment.Today));
        var progress = new List<long>();

        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time)
            .ImportAsync(new StringReader(csv.ToString()), ImportMode.SkipBadRows, new SynchronousProgress(progress));

        Assert.Equal(SubscriberImporter.BatchSize + 10, report.RowsImported);
        Assert.Equal([SubscriberImporter.BatchSize, SubscriberImporter.BatchSize + 10], progress);
    }

    [Theory]
    [InlineData(ImportMode.AllOrNothing, 0)]
    [InlineData(ImportMode.SkipBadRows, 2)]
    public async Task A_home_store_shaped_like_a_phone_number_or_rrn_is_refused_by_line_and_field_never_its_value(ImportMode mode, int imported)
    {
        using var env = await TestEnvironment.CreateAsync();
        string[] file =
        [
            Csv.Header,                                                                                           // 1
            "홍길동,711231-1234567,010-1234-5678,서울특별시 종로구 청운동 1-1,5G 슬림,2025-01-02,2027-01-01,S001",      // 2 good
            "김철수,8506151000000,010-2222-3333,서울특별시 강남구 역삼동 5,LTE 베이직,2025-01-02,2027-01-01,010-9876-5432", // 3 phone-shaped store
            "이영희,8506152000000,010-3333-4444,부산광역시 해운대구 우동 7,LTE 베이직,2025-01-02,2027-01-01,9001011234567", // 4 RRN-shaped store
            "윤아,0506154000000,010-7777-8888,제주특별자치도 제주시 연동 2,키즈 LTE 19,2026-01-01,2028-01-01,0212345678",   // 5 good: not a mobile number
        ];

        var report = await env.ImportAsync(mode, file);

        Assert.Equal(
            [new ImportRowError(3, "home_store", "must not be a phone number or resident registration number"), new ImportRowError(4, "home_store", "must not be a phone number or resident registration number")],
            report.Errors);
        Assert.Equal((4, 2, imported), (report.RowsRead, report.RowsRejected, report.RowsImported));
        Assert.Equal(imported, await new SubscriberVault(env.Database, env.Keys).CountAsync());
        var text = string.Join("\n", report.Errors.Select(e => $"{e.Line} {e.Field} {e.Rule}"));
        Assert.DoesNotContain("9876", text, StringComparison.Ordinal);
        Assert.DoesNotContain("900101", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ImportMode.AllOrNothing, 0)]
    [InlineData(ImportMode.SkipBadRows, 2)]
    public async Task Bidi_controls_invisible_format_and_control_characters_in_shown_text_and_formula_rate_plans_are_refused_by_line_and_field(ImportMode mode, int imported)
    {
        using var env = await TestEnvironment.CreateAsync();
        string[] file =
        [
            Csv.Header,                                                                                                           // 1
            "홍길동,711231-1234567,010-1234-5678,서울특별시 종로구 청운동 1-1,5G 슬림,2025-01-02,2027-01-01,S001",                      // 2 good
            "김철\u202E수,8506151000000,010-2222-3333,서울특별시 강남구 역삼동 5,LTE 베이직,2025-01-02,2027-01-01,S001",                // 3 RLO in the name
            "이영\u200B희,8506152000000,010-3333-4444,부산광역시 해운대구 우동 7,LTE 베이직,2025-01-02,2027-01-01,S001",                // 4 zero width space in the name
            "박민수,8506151000000,010-4444-5555,대구광역시 수성구\u2066 범어동 1,LTE\uFEFF 베이직,2025-01-02,2027-01-01,S001",           // 5 LRI in the address, BOM in the rate plan
            "최지우,9001012000000,010-5555-6666,인천광역시 연수구 송도동 3,=1+1,2025-01-02,2027-01-01,S001",                           // 6 formula rate plan
            "정하늘,7301011000000,010-6666-7777,\"광주광역시 서구\u0085치평동 9\",@SUM(A1),2025-01-02,2027-01-01,S001",               // 7 NEL (C1) in the address, '@' plan
            "강바다,8101011000000,010-7777-8888,울산광역시 남구 삼산동 1,+5G,2025-01-02,2027-01-01,S001",                              // 8 '+' plan
            "한별\u00AD,8201012000000,010-8888-9999,대전광역시 유성구 궁동 1,-1,2025-01-02,2027-01-01,S001",                           // 9 soft hyphen (Cf), '-' plan
            "윤아,0506154000000,010-9999-0000,제주특별자치도 제주시 연동 2,키즈 LTE 19,2026-01-01,2028-01-01,S006",                    // 10 good
        ];

        var report = await env.ImportAsync(mode, file);

        const string Bidi = "must not contain Unicode bidirectional control characters (U+202A-U+202E, U+2066-U+2069)";
        const string Format = "must not contain invisible format characters (Unicode category Cf, e.g. U+200B, U+200E, U+FEFF)";
        const string Formula = "must not start with '=', '+', '-' or '@' (a spreadsheet would run it as a formula)";
        Assert.Equal(
            [
                new ImportRowError(3, "name", Bidi),
                new ImportRowError(4, "name", Format),
                new ImportRowError(5, "address", Bidi),
                new ImportRowError(5, "rate_plan", Format),
                new ImportRowError(6, "rate_plan", Formula),
                new ImportRowError(7, "address", "must not contain control characters or line breaks"),
                new ImportRowError(7, "rate_plan", Formula),
                new ImportRowError(8, "rate_plan", Formula),
                new ImportRowError(9, "name", Format),
                new ImportRowError(9, "rate_plan", Formula),
            ],
            report.Errors);
        Assert.Equal((9L, 7L, (long)imported), (report.RowsRead, report.RowsRejected, report.RowsImported));
        Assert.Equal(imported, await new SubscriberVault(env.Database, env.Keys).CountAsync());
        var text = string.Join("\n", report.Errors.Select(e => $"{e.Line} {e.Field} {e.Rule}"));
        foreach (var value in new[] { "김철", "이영", "범어동", "=1+1", "SUM", "+5G", "한별" })
        {
            Assert.DoesNotContain(value, text, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(ImportMode.AllOrNothing, 0)]
    [InlineData(ImportMode.SkipBadRows, (SubscriberImporter.BatchSize * 3) - 1)]
    public async Task A_bad_row_in_a_late_batch_rejects_the_whole_pipelined_import_or_only_itself(ImportMode mode, int imported)
    {
        using var env = await TestEnvironment.CreateAsync();
        var lines = SampleLines(SubscriberImporter.BatchSize * 3, seed: 13);
        var badLine = (SubscriberImporter.BatchSize * 2) + 77; // physical line, in the third batch
        lines[badLine - 1] = lines[badLine - 1].Replace(lines[badLine - 1].Split(',')[7], "S 9", StringComparison.Ordinal);

        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(new StringReader(string.Join('\n', lines)), mode);

        Assert.Equal([new ImportRowError(badLine, "home_store", StoreRule)], report.Errors);
        Assert.Equal(SubscriberImporter.BatchSize * 3, report.RowsRead);
        Assert.Equal(1, report.RowsRejected);
        Assert.Equal(imported, report.RowsImported);
        Assert.Equal(imported, await new SubscriberVault(env.Database, env.Keys).CountAsync());
    }

    [Theory]
    [InlineData(ImportMode.AllOrNothing, 0)]
    [InlineData(ImportMode.SkipBadRows, 10)]
    public async Task An_over_long_line_is_one_bad_row_and_the_lines_after_it_are_read(ImportMode mode, int imported)
    {
        using var env = await TestEnvironment.CreateAsync();
        var lines = SampleLines(10, seed: 16);
        lines.Insert(3, new string('x', 5 * 1024 * 1024)); // line 4: 5 MB without a line break

        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(new StringReader(string.Join('\n', lines)), mode);

        Assert.Equal([new ImportRowError(4, "row", "must be at most 65536 bytes; the line was skipped and the lines after it were read")], report.Errors);
        Assert.Equal((11L, 1L, (long)imported), (report.RowsRead, report.RowsRejected, report.RowsImported));
        Assert.Equal(imported, await new SubscriberVault(env.Database, env.Keys).CountAsync());
    }

    [Theory]
    [InlineData(ImportMode.AllOrNothing, 0)]
    [InlineData(ImportMode.SkipBadRows, 4)]
    public async Task An_unterminated_quote_is_one_bad_row_at_the_line_it_opens_and_the_lines_after_it_are_read(ImportMode mode, int imported)
    {
        using var env = await TestEnvironment.CreateAsync();
        var lines = SampleLines(5, seed: 19); // header and rows on lines 2-6
        var fields = lines[2].Split(',');
        Assert.Equal(9, fields.Length); // the eight required columns and family_plan
        fields[3] = "\"" + fields[3]; // line 3: a quote opened in the address that no line closes
        lines[2] = string.Join(',', fields);

        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(new StringReader(string.Join('\n', lines) + "\n"), mode);

        Assert.Equal([new ImportRowError(3, "row", SubscriberImporter.UnterminatedQuoteRule)], report.Errors);
        Assert.Equal((5L, 1L, (long)imported), (report.RowsRead, report.RowsRejected, report.RowsImported));
        Assert.Equal(imported, await new SubscriberVault(env.Database, env.Keys).CountAsync());
    }

    [Theory]
    [InlineData(ImportMode.AllOrNothing, 0)]
    [InlineData(ImportMode.SkipBadRows, SubscriberImporter.BatchSize + 4)]
    public async Task An_unterminated_quote_before_more_than_a_record_limit_of_rows_does_not_stop_the_reading(ImportMode mode, int imported)
    {
        using var env = await TestEnvironment.CreateAsync();
        var lines = SampleLines(SubscriberImporter.BatchSize + 6, seed: 14);
        lines[4] = lines[4].Replace(lines[4].Split(',')[7], "S 9", StringComparison.Ordinal); // an ordinary bad row first
        var quoteLine = 11;
        lines[quoteLine - 1] = "\"" + lines[quoteLine - 1]; // the rows after it are far more than MaxRecordBytes
        Assert.True(string.Join('\n', lines.Skip(quoteLine)).Length > SubscriberImporter.MaxRecordBytes);

        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(new StringReader(string.Join('\n', lines)), mode);

        Assert.Equal(
            [
                new ImportRowError(5, "home_store", StoreRule),
                new ImportRowError(quoteLine, "row", SubscriberImporter.UnterminatedQuoteRule),
            ],
            report.Errors);
        Assert.Equal((SubscriberImporter.BatchSize + 6L, 2L, (long)imported), (report.RowsRead, report.RowsRejected, report.RowsImported));
        Assert.Equal(imported, await new SubscriberVault(env.Database, env.Keys).CountAsync());
    }

    [Fact]
    public async Task Cancelling_a_skip_bad_rows_import_reports_the_committed_batches()
    {
        using var env = await TestEnvironment.CreateAsync();
        var lines = SampleLines(SubscriberImporter.BatchSize * 4, seed: 17);
        using var cancel = new CancellationTokenSource();
        var progress = new CancelAfter(SubscriberImporter.BatchSize, cancel); // cancels once the first batch is written

        var failure = await Assert.ThrowsAsync<ImportCanceledException>(() =>
            new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(new StringReader(string.Join('\n', lines)), ImportMode.SkipBadRows, progress, cancel.Token));

        Assert.Equal(SubscriberImporter.BatchSize, failure.Report.RowsImported);
        Assert.Equal(SubscriberImporter.BatchSize, await new SubscriberVault(env.Database, env.Keys).CountAsync());
    }

    [Fact]
    public async Task Cancelling_an_all_or_nothing_import_keeps_nothing()
    {
        using var env = await TestEnvironment.CreateAsync();
        var lines = SampleLines(SubscriberImporter.BatchSize * 4, seed: 18);
        using var cancel = new CancellationTokenSource();

        var failure = await Assert.ThrowsAsync<ImportCanceledException>(() =>
            new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(new StringReader(string.Join('\n', lines)), ImportMode.AllOrNothing, new CancelAfter(SubscriberImporter.BatchSize, cancel), cancel.Token));

        Assert.Equal(0, failure.Report.RowsImported);
        Assert.Equal(0, await new SubscriberVault(env.Database, env.Keys).CountAsync());
    }

    [Fact]
    public async Task A_failing_writer_ends_the_import_with_its_own_error_instead_of_hanging()
    {
        using var env = await TestEnvironment.CreateAsync();
        await using (var connection = await env.Database.OpenAsync())
        await using (var drop = connection.CreateCommand())
        {
            drop.CommandText = "DROP TABLE subscribers";
            await drop.ExecuteNonQueryAsync();
        }

        var lines = SampleLines(SubscriberImporter.BatchSize * 5, seed: 15); // more batches than the channel holds

        var failure = await Assert.ThrowsAsync<SqliteException>(() =>
            new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(new StringReader(string.Join('\n', lines)), ImportMode.SkipBadRows));
        Assert.Contains("no such table: subscribers", failure.Message, StringComparison.Ordinal);
    }

    private static List<string> SampleLines(int count, int seed)
    {
        var csv = new StringWriter();
        SampleGenerator.WriteCsv(csv, new SampleGenerator().Generate(count, 3, seed, TestEnvironment.Today));
        return csv.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
    }

    [Fact]
    public async Task Cancelled_all_or_nothing_import_writes_nothing()
    {
        using var env = await TestEnvironment.CreateAsync();
        var csv = new StringWriter();
        SampleGenerator.WriteCsv(csv, new SampleGenerator().Generate(SubscriberImporter.BatchSize * 2, 3, 12, TestEnvironment.Today));
        using var cts = new CancellationTokenSource();
        var progress = new SynchronousProgress([], _ => cts.Cancel());

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(new StringReader(csv.ToString()), ImportMode.AllOrNothing, progress, cts.Token));

        Assert.Equal(0, await new SubscriberVault(env.Database, env.Keys).CountAsync());
    }

    [Fact]
    public async Task The_database_files_hold_no_plaintext_RRN_or_phone_number_of_the_imported_population()
    {
        using var env = await TestEnvironment.CreateAsync();
        var population = new SampleGenerator().Generate(1_000, 5, 2026, TestEnvironment.Today).ToList();
        var csv = new StringWriter();
        SampleGenerator.WriteCsv(csv, population);
        var csvBytes = Encoding.UTF8.GetBytes(csv.ToString());

        var watch = Stopwatch.StartNew();
        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(new StringReader(csv.ToString()));
        watch.Stop();
        Assert.True(report.Succeeded, string.Join("; ", report.Errors.Take(5)));
        Assert.Equal(1_000, report.RowsImported);
        output.WriteLine($"imported 1,000 rows in {watch.ElapsedMilliseconds} ms");

        SqliteConnection.ClearAllPools();
        var files = new[] { env.Database.Path, env.Database.Path + "-wal" }.Where(File.Exists).Select(File.ReadAllBytes).ToList();
        Assert.NotEmpty(files);
        Assert.True(files.Sum(f => f.Length) > 1_000 * 4 * 33, "the database should hold the ciphertexts");

        var searched = 0;
        foreach (var s in population)
        {
            // Forms written to the CSV (so the search is meaningful) and forms only derived from it.
            var written = new List<string> { ResidentRegistrationNumbers.FormatWithHyphen(s.Rrn), PhoneNumbers.FormatNational(s.Phone), s.Address };
            if (s.Name.Length >= 3)
            {
                written.Add(s.Name);
            }

            var derived = new[] { s.Rrn, s.Phone, PhoneNumbers.FormatNational(s.Phone).Replace("-", "", StringComparison.Ordinal) };
            foreach (var form in written)
            {
                Assert.True(csvBytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(form)) >= 0, "every searched form must occur in the imported CSV");
            }

            foreach (var form in written.Concat(derived))
            {
                var needle = Encoding.UTF8.GetBytes(form);
                foreach (var file in files)
                {
                    Assert.True(file.AsSpan().IndexOf(needle) < 0, "plaintext personal data found in the database files");
                    searched++;
                }
            }
        }

        Assert.True(searched >= 1_000 * 6);
    }

    private sealed class SynchronousProgress(List<long> values, Action<long>? onReport = null) : IProgress<long>
    {
        public void Report(long value)
        {
            values.Add(value);
            onReport?.Invoke(value);
        }
    }

    /// <summary>Cancels <paramref name="cancel"/> once <paramref name="rows"/> rows were reported done (synchronously, on the writer).</summary>
    private sealed class CancelAfter(long rows, CancellationTokenSource cancel) : IProgress<long>
    {
        public void Report(long value)
        {
            if (value >= rows)
            {
                cancel.Cancel();
            }
        }
    }
}

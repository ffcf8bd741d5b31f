using Custodian.Lookup;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Cli;

/// <summary><c>stores import</c> and <c>stores list</c> beside a running server, and the start refusal of a bad <c>ContractEndingDays</c>.</summary>
[Collection(nameof(CliCollection))]
public sealed class StoreCommandsTests
{
    [Fact]
    public async Task A_good_file_sets_the_listed_stores_and_a_bad_one_applies_nothing_naming_every_bad_row()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 3);
        var data = host.Directory.FullName;
        var good = Path.Combine(data, "stores.csv");
        await File.WriteAllTextAsync(good, "store,area\nS001,seoul-gangnam\nS002,busan-jin\n");

        var (code, stdout, stderr) = await CliCapture.RunAsync(["stores", "import", good, "--data", data]);
        Assert.Equal((0, string.Empty), (code, stderr));
        Assert.Equal("Imported the areas of 2 stores. A running server uses them within 60 seconds.\n", stdout);

        // The second import updates S002 and adds S003; S001, not listed, keeps its area.
        await File.WriteAllTextAsync(good, "\uFEFFstore,area\r\nS002,seoul-mapo\r\nS003,daegu-suseong\r\n");
        Assert.Equal(0, (await CliCapture.RunAsync(["stores", "import", good, "--data", data])).Code);
        var expected = new[] { ("S001", "seoul-gangnam"), ("S002", "seoul-mapo"), ("S003", "daegu-suseong") };
        Assert.Equal(expected, (await host.Get<StoreAreas>().ListAsync()).Select(s => (s.Store, s.Area)));
        Assert.Equal(0, (await CliCapture.RunAsync(["stores", "list", "--data", data])).Code); // a Spectre table, on the real console

        var bad = Path.Combine(data, "bad-stores.csv");
        await File.WriteAllTextAsync(bad, string.Join('\n',
            "store,area",
            "S001,jeju-jeju", // good, but not applied: the file has bad rows
            "S 02,seoul", // line 3: not a store code
            "S004," + new string('a', 51), // line 4: area too long
            "S005,seoul gangnam", // line 5: a space
            "S001,busan-jin", // line 6: listed twice
            "S006,seoul,extra", // line 7: three fields
            "S007,서울") + "\n"); // line 8: not ASCII
        (code, stdout, stderr) = await CliCapture.RunAsync(["stores", "import", bad, "--data", data]);

        Assert.Equal(3, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal(
            string.Join('\n',
                "line 3: store: must be a store code: " + Identity.Codes.Rule,
                "line 4: area: " + StoreAreas.AreaRule,
                "line 5: area: " + StoreAreas.AreaRule,
                "line 6: store: must appear only once in the file",
                "line 7: row: must be well-formed CSV with 2 fields like the header (store,area)",
                "line 8: area: " + StoreAreas.AreaRule,
                "error: nothing applied (all-or-nothing): 6 bad rows.") + "\n",
            stderr);
        Assert.DoesNotContain("seoul gangnam", stderr, StringComparison.Ordinal);
        Assert.Equal(expected, (await host.Get<StoreAreas>().ListAsync()).Select(s => (s.Store, s.Area)));

        foreach (var header in new[] { "store,region\nS001,seoul\n", "Store,Area\nS001,seoul\n", "store,area,x\n", string.Empty })
        {
            await File.WriteAllTextAsync(bad, header);
            (code, stdout, stderr) = await CliCapture.RunAsync(["stores", "import", bad, "--data", data]);
            Assert.Equal((3, string.Empty), (code, stdout));
            Assert.Equal("line 1: header: must be exactly 'store,area'\nerror: nothing applied (all-or-nothing): 1 bad row.\n", stderr);
        }

        Assert.Equal(expected, (await host.Get<StoreAreas>().ListAsync()).Select(s => (s.Store, s.Area)));
    }

    [Fact]
    public async Task A_store_spelt_unlike_the_code_in_use_is_refused_as_staff_add_refuses_it_and_nothing_is_applied()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 3);
        var data = host.Directory.FullName;
        await host.Get<Access.Terminals.TerminalRegistry>().IssueEnrollmentCodeAsync("S002", "counter-1", null);
        var file = Path.Combine(data, "stores.csv");
        await File.WriteAllTextAsync(file, "store,area\nS001,seoul-a\n");
        Assert.Equal(0, (await CliCapture.RunAsync(["stores", "import", file, "--data", data])).Code);

        await File.WriteAllTextAsync(file, "store,area\nS003,busan-a\ns001,seoul-a\ns002,seoul-b\n");
        var (code, stdout, stderr) = await CliCapture.RunAsync(["stores", "import", file, "--data", data]);

        Assert.Equal((3, string.Empty), (code, stdout));
        Assert.Equal(
            "line 3: store: must be written 'S001' like the store code already in use (store codes are case-sensitive)\n"
            + "line 4: store: must be written 'S002' like the store code already in use (store codes are case-sensitive)\n"
            + "error: nothing applied (all-or-nothing): 2 bad rows.\n",
            stderr);
        Assert.Equal([("S001", "seoul-a")], (await host.Get<StoreAreas>().ListAsync()).Select(s => (s.Store, s.Area)));
    }

    [Fact]
    public async Task A_store_spelt_unlike_the_code_in_use_is_reported_beside_the_other_bad_rows_of_the_file()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 3);
        var data = host.Directory.FullName;
        var file = Path.Combine(data, "stores.csv");
        await File.WriteAllTextAsync(file, "store,area\nS001,seoul-a\n");
        Assert.Equal(0, (await CliCapture.RunAsync(["stores", "import", file, "--data", data])).Code);

        await File.WriteAllTextAsync(file, string.Join('\n',
            "store,area",
            "s001,seoul-a", // line 2: S001 is listed in stores
            "S 02,busan-a", // line 3: not a store code
            "S003,seoul gangnam", // line 4: a space in the area
            "S004,daegu-a",
            "s004,daegu-b", // line 6: S004 earlier in the file
            "s001,seoul gangnam") + "\n"); // line 7: listed twice (line 2), and a bad area
        var (code, stdout, stderr) = await CliCapture.RunAsync(["stores", "import", file, "--data", data]);

        Assert.Equal((3, string.Empty), (code, stdout));
        Assert.Equal(
            string.Join('\n',
                "line 2: store: must be written 'S001' like the store code already in use (store codes are case-sensitive)",
                "line 3: store: must be a store code: " + Identity.Codes.Rule,
                "line 4: area: " + StoreAreas.AreaRule,
                "line 6: store: must appear only once in the file (store codes are case-sensitive: 'S004' earlier in the file is spelt differently)",
                "line 7: store: must appear only once in the file",
                "line 7: area: " + StoreAreas.AreaRule,
                "error: nothing applied (all-or-nothing): 5 bad rows.") + "\n",
            stderr);
        Assert.DoesNotContain("seoul gangnam", stderr, StringComparison.Ordinal);
        Assert.Equal([("S001", "seoul-a")], (await host.Get<StoreAreas>().ListAsync()).Select(s => (s.Store, s.Area)));

        // The case variant row with a bad area of its own: both fields, the store first.
        await File.WriteAllTextAsync(file, "store,area\nS 02,busan-a\ns001,seoul gangnam\n");
        (code, stdout, stderr) = await CliCapture.RunAsync(["stores", "import", file, "--data", data]);
        Assert.Equal((3, string.Empty), (code, stdout));
        Assert.Equal(
            "line 2: store: must be a store code: " + Identity.Codes.Rule + "\n"
            + "line 3: store: must be written 'S001' like the store code already in use (store codes are case-sensitive)\n"
            + "line 3: area: " + StoreAreas.AreaRule + "\n"
            + "error: nothing applied (all-or-nothing): 2 bad rows.\n",
            stderr);
    }

    [Theory]
    [InlineData("0", "must be 1-365")]
    [InlineData("366", "must be 1-365")]
    [InlineData("sixty", "has a value that is not allowed: it must be a whole number from 1 to 365")]
    public async Task Serve_refuses_a_bad_contract_ending_days_before_it_creates_anything(string value, string rule)
    {
        var data = Path.Combine(Path.GetTempPath(), "custodian-ending-" + Guid.NewGuid().ToString("N"));
        var (exit, output, error) = await CliProcess.RunAsync(
            new Dictionary<string, string> { ["Custodian__Detection__ContractEndingDays"] = value },
            "serve", "--data", data, "--terminal-port", "0", "--portal-port", "0");

        Assert.Equal(2, exit);
        Assert.Equal(
            $"error: invalid configuration: Custodian:Detection:ContractEndingDays {rule} (docs/monitoring.md lists the values; as an environment variable it is Custodian__Detection__ContractEndingDays).",
            (error.Trim() + output.Trim()).Trim());
        Assert.False(Directory.Exists(data), "a refused start must not create the data directory");
    }
}

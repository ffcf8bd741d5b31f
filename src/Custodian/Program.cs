return await Custodian.Cli.CustodianCli.RunAsync(args);

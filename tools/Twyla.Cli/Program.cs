using Twyla.Cli;

return await TwylaCommandLine.ForProcess().Parse(args).InvokeAsync().ConfigureAwait(false);

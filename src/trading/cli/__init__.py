"""The command line: a dispatcher and one module per subcommand."""

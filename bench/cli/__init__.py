"""The command line on top of every stage: one module per subcommand."""

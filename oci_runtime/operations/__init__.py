"""One module per subcommand; each has ``main(global_options, options, args) -> exit status``."""

"""`rlmx` subcommands that live in their own modules; `rlmx.cli` registers each one."""

"""Subcommands of ``spikescope`` that live in their own modules (listed in
``sim_core.cli.COMMAND_MODULES``): each has ``add_parser(subparsers)``."""

"""Subcommands of the `gunmane` command line; each module exposes `register(subparsers)`."""

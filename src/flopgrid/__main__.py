"""`python -m flopgrid ...` runs the CLI."""

from flopgrid.cli.main import main

main()

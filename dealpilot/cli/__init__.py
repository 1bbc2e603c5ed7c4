"""The `dealpilot` command (typer): an entry point like the API and the worker. Commands parse
their options, call the domain inside one unit of work and map its errors to exit codes."""

"""dealpilot: the domain layer and its core. One package per domain (deals, mail, intake, ...),
used alike by the entry points above it: the REST API (`api/`), the Temporal activities
(`activities/`), the worker (`worker.py`) and the CLI (`dealpilot.cli`). `dealpilot.core` holds
what every layer shares (settings, logging, metrics, errors, enums). See docs/architecture.md."""

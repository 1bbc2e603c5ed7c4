from tests.workflows.conftest import Stack, smtp, stack, time_env  # noqa: F401 (fixtures)

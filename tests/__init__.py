"""innosite's tests (a package, so that tests.conftest and the helpers import)."""

"""``python -m layers.cli``: the same as the ``innosite`` command."""

import sys

from layers.cli.main import main

sys.exit(main())

"""``python -m sertl_experiments``: the plugin's commands without the core CLI."""

import sys

from ._cli import main

sys.exit(main())

"""``python -m sertl_experiments``: the plugin's commands without the core CLI."""

import sys

from ._cli import main

if __name__ == "__main__":  # importing the module runs nothing
    sys.exit(main())

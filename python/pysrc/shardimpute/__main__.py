"""``python -m shardimpute``: the native command line, plus ``--cluster``."""

import sys

from shardimpute._cli import main

if __name__ == "__main__":
    sys.exit(main())

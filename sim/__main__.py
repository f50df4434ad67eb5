"""`python -m sim ...` is the same as `innosim ...`."""

import sys

from .cli import main

sys.exit(main())

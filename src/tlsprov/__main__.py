"""``python -m tlsprov``."""

from __future__ import annotations

import sys

from tlsprov.cli import main

sys.exit(main())

"""``python -m vadkit`` runs the CLI (as the ``vadkit`` script does)."""

import sys

from vadkit.cli.main import main

sys.exit(main())

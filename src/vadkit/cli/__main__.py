import sys

from vadkit.cli.main import main

sys.exit(main())

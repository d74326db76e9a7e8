"""``python -m unicr.cli`` runs the command line."""

import sys

from unicr.cli import main

sys.exit(main())

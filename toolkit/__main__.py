"""`python -m biaskit` runs the CLI."""

import sys

from biaskit.cli import main

sys.exit(main())

"""``python -m trading.cli COMMAND ...``: the same as the ``tradingbot`` console script."""
import sys

from trading.cli.main import main

sys.exit(main())

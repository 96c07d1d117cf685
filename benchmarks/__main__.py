"""``python -m benchmarks``: see ``benchmarks/run.py``. This checkout's ``src`` goes first on the
path, so the harness measures the code next to it, not another installed copy of Stellwerk."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from benchmarks.run import main  # after the path is set

sys.exit(main())

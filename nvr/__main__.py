"""``python -m nvr``: the same entry point as the ``nvr`` command."""

from nvr.cli import main

raise SystemExit(main())

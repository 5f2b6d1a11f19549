"""``python -m vaultsync`` is the ``vaultsync`` command."""

from vaultsync.cli import main

raise SystemExit(main())

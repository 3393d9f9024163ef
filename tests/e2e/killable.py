"""`lawful-crm sync` in a child process that the kill-at-every-call test can SIGKILL at any moment.

Started from a multiprocessing forkserver that has already imported the connector, so a child starts in a few
milliseconds instead of paying the CLI's imports. Writes go out in batches of `WRITE_BATCH` records, so a run of a
few dozen records makes several write calls, each a moment to be killed at; in bulk, a job of `WRITE_BATCH`
records is sent in the background as soon as the buffer holds that many, while the run goes on.
"""

from __future__ import annotations

import os
from functools import partial

WRITE_BATCH = 10
PRELOAD = [
    "connector.cli",
    "connector.commands.sync",
    "connector.crm.salesforce",
    "connector.crm.hubspot",
    "connector.dnc.registers",
    "connector.dnc.screenings",
    "phonenumbers",
    "rich.console",
]


def sync(workdir: str, crm: str) -> None:
    """Run ``lawful-crm sync --crm <crm>`` in ``workdir`` (its configuration and store); exit with its status."""
    os.chdir(workdir)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    _small_write_batches()
    from connector.cli import app

    status = app(["sync", "--crm", crm], standalone_mode=False)
    os._exit(status if isinstance(status, int) else 0)


def _small_write_batches() -> None:
    import connector.crm.hubspot.write as hubspot
    import connector.crm.salesforce.write as salesforce
    import connector.sync.buffer as buffer

    salesforce.COLLECTION_SIZE = WRITE_BATCH
    buffer.JOB_SIZE = WRITE_BATCH
    hubspot.chunks = partial(hubspot.chunks, size=WRITE_BATCH)  # type: ignore[assignment]

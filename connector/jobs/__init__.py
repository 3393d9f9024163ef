"""Work spread over many processes: procrastinate jobs on the PostgreSQL store (``lawful-crm worker``).

``tasks`` declares the jobs (drain one shard of one CRM's webhook events, sync one CRM, the periodic sweep,
nightly sync and stalled-job recovery) on a procrastinate App; ``runtime`` builds what the jobs run on
(settings, store, pipelines whose HubSpot calls share one limit kept in the store). With SQLite, ``serve``
keeps its in-process worker and nothing here is used.
"""

from __future__ import annotations

from connector.jobs.tasks import DRAIN, SYNC, JobSettings, conninfo, defer_drain, install_schema, job_app

__all__ = ["DRAIN", "SYNC", "JobSettings", "conninfo", "defer_drain", "install_schema", "job_app"]

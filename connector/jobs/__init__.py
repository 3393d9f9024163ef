"""Work spread over many processes: procrastinate jobs on the PostgreSQL store (``lawful-crm worker``).

``tasks`` declares the jobs (drain one shard of one CRM's webhook events, sync one CRM or one shard of a full
sync, the periodic sweep, the nightly sync and stalled-job recovery) on a procrastinate App and needs the
``postgres`` extra; ``runtime`` builds what the jobs run on (settings, store, pipelines whose HubSpot calls
share one limit kept in the store); ``shards`` is the sharded full sync; ``intake`` is what ``serve`` uses to
defer drains as it stores events (it imports no procrastinate, so ``serve`` on SQLite never needs the extra).
With SQLite, ``serve`` keeps its in-process worker and nothing here is used.
"""

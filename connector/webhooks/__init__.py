"""Near-real-time flags: the webhook receiver, the durable worker and the nightly schedule of ``lawful-crm serve``.

A delivery is verified, de-duplicated and queued in the store, then answered; the worker reads the queued
record ids through the same pipeline as the sync. ``signatures`` and ``outbound`` and ``events`` are pure.
"""

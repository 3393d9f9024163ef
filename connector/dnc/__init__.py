"""Do-not-call registers and the own suppression list: import, E.164 normalisation, keyed storage, screening.

``normalise`` and ``readers`` are pure; ``registers.DncRegisters`` is the shell that keeps the lists in the store
and implements ``connector.sync.screening.PhoneScreener``; ``cli`` is the ``lawful-crm dnc`` command group.
This package module imports nothing, so that ``connector.store`` can register ``tables`` without a cycle.
"""

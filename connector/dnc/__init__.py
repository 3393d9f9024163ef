"""Do-not-call registers and the own suppression list: import, E.164 normalisation, keyed storage, screening.

``normalise`` and ``readers`` are pure; ``registers.DncRegisters`` is the shell that keeps the lists in the store
and implements ``connector.sync.screening.PhoneScreener``; ``keys`` keeps the hash key outside the store. The
tables live with the store (``connector.store.dnc_tables``) and the ``lawful-crm dnc`` command group in
``connector.commands.dnc``.
"""

"""Loopback emulators of the Salesforce REST API and the HubSpot CRM API, with seeded synthetic data.

The sandbox is product code: the demo, admins rehearsing a policy change, the benchmarks and every contract
test run the real vendor SDKs over real HTTP against it. `people` is the CRM-neutral person generator both
emulators render their records from.
"""

from crm_sandbox.people import Person, person

__all__ = ["Person", "person"]

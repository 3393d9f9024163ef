"""The Salesforce adapter: CrmPort and CrmAdmin on simple-salesforce (pull, read, write; install, describe, counts).

Every vendor call goes through `connection.Connection` (quota, login, translation, retries); the pure parts
(`soql`, `fields`, `records`, `payload`, `definitions`, `quota.parse_limit_info`) hold no I/O.
"""

from connector.crm.salesforce.crm import SalesforceCrm

__all__ = ["SalesforceCrm"]

"""The HubSpot adapter: contacts through hubspot-api-client, behind the CrmPort and CrmAdmin protocols.

``HubSpotCrm.from_config(config, mapping)`` builds it. Modules, each one noun: ``session`` (every SDK call:
token, limiter, timeout, translation, retries, counting), ``auth`` (private-app token, OAuth refresh),
``limiter`` (proactive rolling-window limits), ``translate`` (vendor answers -> connector errors), ``records``
(SDK objects -> CrmRecord, field names), ``companies`` (company properties in full batches), ``keyset``
(incremental search past the 10,000 cap), ``pull``, ``write``, ``install``, ``describe``.
"""

from connector.crm.hubspot.adapter import HubSpotCrm
from connector.crm.hubspot.describe import OTHER_VALUES
from connector.crm.hubspot.install import GROUP
from connector.crm.hubspot.records import COMPANY_PREFIX

__all__ = ["COMPANY_PREFIX", "GROUP", "OTHER_VALUES", "HubSpotCrm"]

"""CRM adapters behind the CrmPort and CrmAdmin protocols (port.py); vendor SDKs are imported only in the
salesforce/ and hubspot/ packages."""

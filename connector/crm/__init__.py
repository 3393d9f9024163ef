"""CRM adapters behind the CrmPort protocol; vendor SDKs are imported only in salesforce.py and hubspot.py."""

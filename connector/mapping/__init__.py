"""Mapping files: how a CRM's fields and picklist values become ContactFacts, and Decisions become field values."""

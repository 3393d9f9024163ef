"""Loopback emulator of the Salesforce REST, Tooling, Bulk 2.0 and OAuth APIs."""

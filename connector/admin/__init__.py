"""The admin's view: the HTML run report, the read-only ``/admin`` page of ``serve`` and the HTML change report.

Every page is built from the store's counts (the change report from a run's decisions) and rendered by Jinja2
with autoescaping: no value read from a CRM or the store is ever markup. The pages run no script and load
nothing from the network: the styles are inline and the charts are SVG drawn on the server.
"""

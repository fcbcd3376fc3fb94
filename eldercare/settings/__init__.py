"""Settings package: base (shared, read from the environment), local, test, production.

See docs/adr/0002-settings-layout.md.
"""

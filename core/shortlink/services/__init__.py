"""Use cases: each wires pure domain rules to the adapters that persist them."""

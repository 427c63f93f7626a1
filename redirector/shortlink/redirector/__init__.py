"""The redirector: serves GET/HEAD /<code> at the edge."""

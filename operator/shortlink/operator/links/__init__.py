"""ShortLinks: validated by pure decisions, written to PostgreSQL and Redis, kept there
by the drift check."""

"""What we keep in Redis: the key layout, the connection, locks, state and dead letters."""

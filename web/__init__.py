"""The Flask side: receivers, sidebar API, health and metrics; and the command line."""

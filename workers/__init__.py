"""The Celery side: the app, one base task holding the delivery policy, and thin tasks."""
